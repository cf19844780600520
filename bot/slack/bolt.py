"""Builds the Bolt app: request verification on, a sized listener pool, no Slack call at start-up; and drains it.

The listeners are registered by the composition root (bot.app), each given exactly the use cases it calls.
"""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot.observability import ContextThreadPool
from bot.slack.pacing import AfterAck
from bot.slack.transport import KeepAliveWebClient, KeptConnections


def new_bolt_app(*, signing_secret: str, client: WebClient, listener_threads: int) -> App:
    """A Bolt `App` on `client` (so SLACK_API_URL reaches Bolt's per-request clients too), with no listener yet.

    `token_verification_enabled=False`: the workspace is learnt from auth.test on the first request rather
    than at start-up, so the process starts while Slack is unreachable. Listeners run on a pool of
    `listener_threads` threads (Bolt's default of 5 made acks wait seconds under load) and only ack there: their
    work goes to an `AfterAck` pool of the same size.
    """
    app = App(
        name="atlas-access",
        signing_secret=signing_secret,
        client=client,
        token_verification_enabled=False,
        request_verification_enabled=True,
        process_before_response=False,
        raise_error_for_unhandled_request=False,
        listener_executor=ContextThreadPool(max_workers=listener_threads, thread_name_prefix="bolt-listener"),
    )
    app.use(kept_alive(client.connections if isinstance(client, KeepAliveWebClient) else KeptConnections()))
    return app


def kept_alive(connections: KeptConnections) -> Callable[[BoltContext, Callable[[], None]], None]:
    """A middleware giving listeners a client on `connections` in place of the one Bolt makes per request.

    Bolt builds each request a plain `WebClient` from `client`'s settings (its token, team, retry handlers), which
    would open a connection per call; this one has the same settings and the kept connections of the app's client.
    Bolt's own auth.test, once per process before any middleware of ours, still goes its way.
    """

    def use_kept_connections(context: BoltContext, next: Callable[[], None]) -> None:  # noqa: A002 (Bolt's name)
        made = context.client
        context["client"] = KeepAliveWebClient(
            connections=connections, token=made.token, base_url=made.base_url, timeout=made.timeout, ssl=made.ssl,
            proxy=made.proxy, headers=made.headers, team_id=made.default_params.get("team_id"), logger=made.logger,
            retry_handlers=made.retry_handlers,
        )
        next()

    return use_kept_connections


def drain(app: App, after_ack: AfterAck) -> None:
    """Let listeners and the work they handed over finish (at shutdown, once no request comes in)."""
    app.listener_runner.listener_executor.shutdown(wait=True)
    after_ack.drain()

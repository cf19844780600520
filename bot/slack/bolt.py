"""Builds the Bolt app: request verification on, a sized listener pool, no Slack call at start-up; and drains it.

The listeners are registered by the composition root (bot.app), each given exactly the use cases it calls.
"""

from __future__ import annotations

from slack_bolt import App
from slack_sdk import WebClient

from bot.observability import ContextThreadPool
from bot.slack.pacing import AfterAck


def new_bolt_app(*, signing_secret: str, client: WebClient, listener_threads: int) -> App:
    """A Bolt `App` on `client` (so SLACK_API_URL reaches Bolt's per-request clients too), with no listener yet.

    `token_verification_enabled=False`: the workspace is learnt from auth.test on the first request rather
    than at start-up, so the process starts while Slack is unreachable. Listeners run on a pool of
    `listener_threads` threads (Bolt's default of 5 made acks wait seconds under load) and only ack there: their
    work goes to an `AfterAck` pool of the same size.
    """
    return App(
        name="atlas-access",
        signing_secret=signing_secret,
        client=client,
        token_verification_enabled=False,
        request_verification_enabled=True,
        process_before_response=False,
        raise_error_for_unhandled_request=False,
        listener_executor=ContextThreadPool(max_workers=listener_threads, thread_name_prefix="bolt-listener"),
    )


def drain(app: App, after_ack: AfterAck) -> None:
    """Let listeners and the work they handed over finish (at shutdown, once no request comes in)."""
    app.listener_runner.listener_executor.shutdown(wait=True)
    after_ack.drain()

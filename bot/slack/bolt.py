"""Builds the Bolt app: request verification on, sized pools, no Slack call at start-up; and drains it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from weakref import WeakKeyDictionary

from slack_bolt import App

from bot.observability import ContextThreadPool
from bot.slack import listeners
from bot.slack.pacing import AckGate, AfterAck

_AFTER_ACK: WeakKeyDictionary[App, AfterAck] = WeakKeyDictionary()


def build_bolt_app(runtime: Any, *, registrars: Sequence[Callable[[App], None]] = ()) -> App:
    """A Bolt `App` on `runtime.slack` (so SLACK_API_URL reaches Bolt's per-request clients too).

    `token_verification_enabled=False`: the workspace is learnt from auth.test on the first request rather
    than at start-up, so the process starts while Slack is unreachable. Listeners run on a pool of
    `settings.listener_threads` threads (Bolt's default of 5 made acks wait seconds under load) and only ack
    there: their work goes to an `AfterAck` pool of the same size. `registrars` add more listeners.
    """
    settings = runtime.settings
    app = App(
        name="atlas-access",
        signing_secret=settings.slack_signing_secret.get_secret_value(),
        client=runtime.slack,
        token_verification_enabled=False,
        request_verification_enabled=True,
        process_before_response=False,
        raise_error_for_unhandled_request=False,
        listener_executor=ContextThreadPool(max_workers=settings.listener_threads,
                                            thread_name_prefix="bolt-listener"),
    )
    gate: AckGate = runtime.extras.setdefault("ack_gate", AckGate())  # the HTTP layer counts requests in it
    after_ack = AfterAck(threads=settings.listener_threads, gate=gate)
    _AFTER_ACK[app] = after_ack
    listeners.register(app, runtime=runtime, after_ack=after_ack)
    from bot.slack.admin import register_admin  # the admin face imports these listeners' helpers

    register_admin(app, runtime=runtime)
    from bot.slack.home import register_home  # the App Home builds on the request flow's listeners

    register_home(app, runtime=runtime)
    for register in registrars:
        register(app)
    return app


def drain(app: App) -> None:
    """Let listeners and the work they handed over finish (at shutdown, once no request comes in)."""
    app.listener_runner.listener_executor.shutdown(wait=True)
    after_ack = _AFTER_ACK.get(app)
    if after_ack is not None:
        after_ack.drain()


def after_ack_of(app: App) -> AfterAck | None:
    """The pool that runs `app`'s work after its acks (listeners of other modules hand theirs to it too)."""
    return _AFTER_ACK.get(app)

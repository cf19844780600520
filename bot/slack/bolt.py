"""Builds the Bolt app: request verification on, a sized listener pool, no Slack call at start-up."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App

from bot.slack import listeners


def build_bolt_app(runtime: Any, *, registrars: Sequence[Callable[[App], None]] = ()) -> App:
    """A Bolt `App` on `runtime.slack` (so SLACK_API_URL reaches Bolt's per-request clients too).

    `token_verification_enabled=False`: the workspace is learnt from auth.test on the first request rather
    than at start-up, so the process starts while Slack is unreachable. Listeners run on a pool of
    `settings.listener_threads` threads (Bolt's default of 5 made acks wait seconds under load), and
    `process_before_response=False` lets a listener ack first and keep working after the response.
    `registrars` add more listeners (e.g. administration) to the same app.
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
        listener_executor=ThreadPoolExecutor(max_workers=settings.listener_threads,
                                             thread_name_prefix="bolt-listener"),
    )
    listeners.register(app, runtime=runtime)
    for register in registrars:
        register(app)
    return app

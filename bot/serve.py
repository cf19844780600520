"""`atlas-access serve`: start-up checks, the catch-up sweep, the timers and the HTTP server (or Socket Mode).

What stops the start is said in one sentence (`ConfigurationError`, printed by the CLI with a non-zero exit):
never a traceback, and never a driver's message, which carries the SQL, its parameters, or the database URL.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

from sqlalchemy.exc import SQLAlchemyError

from bot.app import ConfigurationError, Runtime, build_runtime
from bot.settings import Settings
from storage.engine import READ_ONLY, database_problem, is_read_only_error
from storage.store import DatabaseHealth

log = logging.getLogger(__name__)


def check_startup(runtime: Runtime) -> None:
    """Refuse to start when the secret key cannot read stored secrets, or Slack settings are missing."""
    settings = runtime.settings
    if not settings.slack_signing_secret.get_secret_value():
        raise ConfigurationError("SLACK_SIGNING_SECRET is not set: Slack requests cannot be verified")
    if not settings.slack_bot_token.get_secret_value():
        raise ConfigurationError("SLACK_BOT_TOKEN is not set")
    from storage.crypto import SecretKeyError

    try:
        runtime.store.check_secret_key()
    except SecretKeyError as error:
        raise ConfigurationError(str(error)) from None


def check_database(runtime: Runtime) -> None:
    """Refuse to start on a database that refuses writes: every click and every grant would fail."""
    if runtime.store.health() is DatabaseHealth.READ_ONLY:
        raise ConfigurationError(READ_ONLY)


def _database_failed(error: SQLAlchemyError) -> str:
    """One sentence for a database error at start-up (see storage.engine.database_problem)."""
    return database_problem(error, doing="during start-up")


def wait_for_database(settings: Settings, *, attempts: int = 30, pause: float = 2.0) -> None:
    """Apply migrations, retrying while the database is not reachable yet (a container starting, a failover)."""
    from storage.migrations import upgrade

    for attempt in range(1, attempts + 1):
        try:
            upgrade(settings.database_url)
            return
        except Exception as error:
            if is_read_only_error(error):
                raise ConfigurationError(READ_ONLY) from None
            if attempt == attempts:
                raise ConfigurationError(f"the database is not reachable: {type(error).__name__}") from None
            # The type names the cause (refused, authentication, unknown database); the message could carry the URL.
            log.warning("database not reachable (attempt %d of %d: %s); retrying", attempt, attempts,
                        type(error).__name__)
            time.sleep(pause)


def run_server(settings: Settings, *, host: str, port: int, socket_mode: bool = False) -> int:
    from bot.scheduler import Timers
    from bot.slack.bolt import build_bolt_app

    wait_for_database(settings)
    runtime = build_runtime(settings)
    # A revocation mostly waits on Atlas, and a grant waiting out a 429's Retry-After or a 5xx's backoff holds
    # no Atlas call slot (the client's ATLAS_MAX_CONCURRENCY bounds the calls in flight): so twice as many
    # grants are worked at once as calls may be in flight, and the slots stay busy while some grants wait.
    runtime.worker.options = replace(runtime.worker.options, concurrency=2 * settings.atlas_max_concurrency)
    try:
        check_startup(runtime)
        check_database(runtime)
        caught_up = runtime.worker.run_due()  # what fell due while no process was running
    except SQLAlchemyError as error:
        raise ConfigurationError(_database_failed(error)) from None
    log.info("start-up sweep worked %d grants", caught_up)
    timers = Timers(runtime)
    timers.start()
    bolt = build_bolt_app(runtime)
    try:
        from bot.slack.http import serve

        if socket_mode:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            if settings.slack_app_token is None:
                raise ConfigurationError("--socket-mode needs SLACK_APP_TOKEN (an xapp- token)")
            # Slack's requests come over the socket; the HTTP server still answers /healthz and /metrics.
            handler = SocketModeHandler(bolt, settings.slack_app_token.get_secret_value())
            handler.connect()
            try:
                serve(runtime, bolt, host=host, port=port)
            finally:
                handler.close()
        else:
            serve(runtime, bolt, host=host, port=port)
    finally:
        timers.stop()
    return 0

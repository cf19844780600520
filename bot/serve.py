"""`atlas-access serve`: start-up checks, the catch-up sweep, the timers and the HTTP server (or Socket Mode).

What stops the start is said in one sentence (`ConfigurationError`, printed by the CLI with a non-zero exit):
never a traceback, and never a driver's message, which carries the SQL, its parameters, or the database URL.
"""

from __future__ import annotations

import logging
import threading
import time

from slack_bolt.adapter.socket_mode import SocketModeHandler
from sqlalchemy.exc import SQLAlchemyError

from bot.app import ConfigurationError, Runtime, build_runtime
from bot.scheduler import Timers
from bot.settings import Settings
from bot.slack.http import front_of, serve
from bot.web import SlackApp, build_slack_app, wsgi_app
from storage.crypto import SecretKeyError
from storage.engine import READ_ONLY, database_problem, is_read_only_error
from storage.migrations import upgrade
from storage.store import DatabaseHealth

log = logging.getLogger(__name__)


def check_startup(runtime: Runtime) -> None:
    """Refuse to start when the secret key cannot read stored secrets, or Slack settings are missing."""
    settings = runtime.settings
    if not settings.slack_signing_secret.get_secret_value():
        raise ConfigurationError("SLACK_SIGNING_SECRET is not set: Slack requests cannot be verified")
    if not settings.slack_bot_token.get_secret_value():
        raise ConfigurationError("SLACK_BOT_TOKEN is not set")
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
    wait_for_database(settings)
    runtime = build_runtime(settings)
    try:
        check_startup(runtime)
        check_database(runtime)
        caught_up = runtime.worker.run_due(prompt=False)  # what fell due while no process was running
    except SQLAlchemyError as error:
        raise ConfigurationError(_database_failed(error)) from None
    log.info("start-up sweep worked %d grants", caught_up)
    # The integrations' Atlas clients, off the start-up path: ready before the first grant needs one.
    threading.Thread(target=runtime.gateways.prepare, name="atlas-clients", daemon=True).start()
    timers = Timers(runtime)
    timers.start()
    slack = build_slack_app(runtime)
    try:
        if socket_mode:
            _serve_socket_mode(runtime, slack, host=host, port=port)
        else:
            serve(wsgi_app(runtime, slack), host=host, port=port, front=front_of(settings))
    finally:
        timers.stop()
        slack.drain()
    return 0


def _serve_socket_mode(runtime: Runtime, slack: SlackApp, *, host: str, port: int) -> None:
    """Slack's requests come over the socket; the HTTP server still answers /healthz and /metrics."""
    token = runtime.settings.slack_app_token
    if token is None:
        raise ConfigurationError("--socket-mode needs SLACK_APP_TOKEN (an xapp- token)")
    handler = SocketModeHandler(slack.bolt, token.get_secret_value())
    handler.connect()  # type: ignore[no-untyped-call]  # slack_bolt leaves this one unannotated
    try:
        serve(wsgi_app(runtime, slack), host=host, port=port, front=front_of(runtime.settings))
    finally:
        handler.close()  # type: ignore[no-untyped-call]

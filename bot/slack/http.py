"""The HTTP face: a WSGI app (POST /slack/events to Bolt, GET /healthz) served by waitress.

`serve` runs it in the foreground for `atlas-access serve`; `ServerThread` runs it on a loopback port in a
background thread for tests, the demo and benchmarks.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from waitress import create_server
from waitress import serve as waitress_serve
from waitress import wasyncore

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"
StartResponse = Callable[..., Any]


class WsgiApp:
    """Routes Slack's requests to Bolt and answers health checks; everything else is 404."""

    def __init__(self, *, runtime: Any, bolt: App) -> None:
        self._slack = SlackRequestHandler(bolt, path=EVENTS_PATH)
        self._store = runtime.store

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        if path == EVENTS_PATH and method == "POST":
            return self._slack(environ, start_response)  # type: ignore[arg-type]
        if path == "/healthz" and method in ("GET", "HEAD"):
            healthy = self._healthy()
            return _json(start_response, 200 if healthy else 503, {"ok": healthy})
        if path == EVENTS_PATH:
            return _json(start_response, 405, {"ok": False, "error": "method_not_allowed"})
        return _json(start_response, 404, {"ok": False, "error": "not_found"})

    def _healthy(self) -> bool:
        try:
            return bool(self._store.ping())
        except Exception as error:  # the type says enough; a driver message may carry the database URL
            log.warning("health check failed: %s", type(error).__name__)
            return False


def _json(start_response: StartResponse, status: int, body: dict[str, Any]) -> list[bytes]:
    payload = json.dumps(body).encode()
    reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}[status]
    start_response(f"{status} {reason}", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]


def _bolt(runtime: Any, bolt: App | None) -> App:
    if bolt is not None:
        return bolt
    from bot.slack.bolt import build_bolt_app

    return build_bolt_app(runtime)


def drain(bolt: App) -> None:
    """Let listeners still working after their ack (grants, posts) finish."""
    bolt.listener_runner.listener_executor.shutdown(wait=True)  # type: ignore[attr-defined]


def serve(runtime: Any, bolt: App | None = None, *, host: str, port: int) -> None:
    """Serve until interrupted, on `settings.server_threads` threads; then let listeners finish."""
    bolt = _bolt(runtime, bolt)
    log.info("serving Slack requests on http://%s:%d%s", host, port, EVENTS_PATH)
    try:
        waitress_serve(WsgiApp(runtime=runtime, bolt=bolt), host=host, port=port,
                       threads=runtime.settings.server_threads, ident="atlas-access")
    finally:
        drain(bolt)


class ServerThread:
    """The same server on a background thread; `start()` on port 0 picks a free port (see `.url`)."""

    def __init__(self, app: Callable[..., Iterable[bytes]], *, host: str = "127.0.0.1", port: int = 0,
                 threads: int = 32, bolt: App | None = None) -> None:
        self._app, self._host, self._port, self._threads = app, host, port, threads
        self.bolt = bolt  # drained at stop() when given
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.url = ""

    @classmethod
    def for_runtime(cls, runtime: Any, bolt: App | None = None, *, host: str = "127.0.0.1",
                    port: int = 0) -> ServerThread:
        bolt = _bolt(runtime, bolt)
        return cls(WsgiApp(runtime=runtime, bolt=bolt), host=host, port=port,
                   threads=runtime.settings.server_threads, bolt=bolt)

    def start(self) -> ServerThread:
        self._server = create_server(self._app, host=self._host, port=self._port, threads=self._threads,
                                     ident="atlas-access")
        self.url = f"http://{self._host}:{self._server.effective_port}"
        self._thread = threading.Thread(target=self._server.run, name="waitress", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        # Close the sockets from inside the server's own loop (its trigger runs thunks there), then let the
        # worker threads finish what they hold.
        server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
        if self._thread is not None:
            self._thread.join(timeout=5)
        server.task_dispatcher.shutdown(timeout=5)
        if self.bolt is not None:
            drain(self.bolt)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

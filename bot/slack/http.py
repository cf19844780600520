"""The HTTP face: a WSGI app (POST /slack/events to Bolt, GET /healthz, GET /metrics) served by waitress.

`serve` runs it in the foreground for `atlas-access serve`; `ServerThread` runs it on a loopback port in a
background thread for tests, the demo and benchmarks. Both configure waitress as `bot.slack.front` says, so
idle, slow or oversized connections cannot keep Slack out.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from slack_bolt import App
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.adapter.wsgi.http_response import WsgiHttpResponse
from slack_bolt.request import BoltRequest
from slack_sdk.signature import SignatureVerifier
from waitress import wasyncore

from access.model import GrantFigures
from access.ports import DatabaseHealth
from bot.observability import CONTENT_TYPE as METRICS_CONTENT_TYPE
from bot.observability import REQUEST_ID, Metrics, new_request_id
from bot.settings import Settings
from bot.slack import shape
from bot.slack.front import HttpFront, create_front_server
from bot.slack.pacing import AckGate

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"
METRICS_PATH = "/metrics"
StartResponse = Callable[..., Any]


class Health(Protocol):
    """What `/healthz` reports: whether the database answers and takes writes, and the revocations owed."""

    def database(self) -> DatabaseHealth: ...

    def overdue(self) -> GrantFigures: ...


class WsgiApp:
    """Routes Slack's requests to Bolt and answers health checks; everything else is 404."""

    def __init__(self, *, bolt: App, signing_secret: str, health: Health, metrics: Metrics | None,
                 gate: AckGate) -> None:
        self._bolt = bolt
        self._verifier = SignatureVerifier(signing_secret)
        self._health_of = health
        self._metrics = metrics
        self._gate = gate

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Serve one request under its own request id (logged with every line, echoed as X-Request-Id)."""
        request_id = new_request_id(environ.get("HTTP_X_REQUEST_ID"))
        token = REQUEST_ID.set(request_id)
        path = environ.get("PATH_INFO", "")

        def answer(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            if self._metrics is not None:
                known = path if path in (EVENTS_PATH, "/healthz", METRICS_PATH) else "other"
                self._metrics.request_served(path=known, status=int(status.split(" ", 1)[0]))
            return start_response(status, [*headers, ("X-Request-Id", request_id)], *exc_info)

        try:
            return self._route(environ, answer)
        finally:
            REQUEST_ID.reset(token)

    def _route(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        if path == EVENTS_PATH and method == "POST":
            request = self._slack_request(environ)
            if isinstance(request, int):
                error = {401: "invalid_signature", 413: "too_large"}.get(request, "bad_request")
                return _json(start_response, request, {"ok": False, "error": error})
            with self._gate.request():  # Bolt returns once the listener has acked
                response = self._bolt.dispatch(request)
            http = WsgiHttpResponse(status=response.status, headers=response.headers, body=response.body)
            start_response(http.status, http.get_headers())
            return http.get_body()
        if path == "/healthz" and method in ("GET", "HEAD"):
            health = self._health()
            healthy = health is DatabaseHealth.OK
            cause = {} if healthy else {"error": health.value}
            return _json(start_response, 200 if healthy else 503, {"ok": healthy, **cause, **self._overdue(healthy)})
        if path == METRICS_PATH and method == "GET" and self._metrics is not None:
            body = self._metrics.exposition()
            start_response("200 OK", [("Content-Type", METRICS_CONTENT_TYPE), ("Content-Length", str(len(body)))])
            return [body]
        if path == EVENTS_PATH:
            return _json(start_response, 405, {"ok": False, "error": "method_not_allowed"})
        return _json(start_response, 404, {"ok": False, "error": "not_found"})

    def _slack_request(self, environ: dict[str, Any]) -> BoltRequest | int:
        """The request for Bolt, parsed once; or 413 for a body too large, 401 unless Slack signed it, 400 for a
        shape Slack never sends.

        Bolt verifies the signature again; checking it here first keeps hostile bytes (a timestamp that is
        not a number, say) away from Bolt's own parsing, which answers them with a 500. The body is parsed once,
        by Bolt's request, and its shape checked there: parsed a second time for the check, it was a tenth of an
        ack's CPU (bench/ack.py).
        """
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return 400
        if length > shape.MAX_BODY:
            return 413
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        signed = self._signed(body, environ)
        if not signed and not shape.is_ssl_check(body):  # Bolt answers Slack's SSL check, unsigned, as it was
            return 401
        try:
            request = BoltRequest(body=body.decode("utf-8"), query=environ.get("QUERY_STRING", ""),
                                  headers=WsgiHttpRequest(environ).get_headers())
        except (ValueError, RecursionError, TypeError, KeyError, IndexError, AttributeError):  # Bolt choked on them
            why: str | None = "not JSON or a form, or a shape Bolt cannot read"
        else:
            why = shape.parsed_problem(request.body) if signed else None
        if why is not None:
            log.info("refused a %s request Slack would not send: %s", "signed" if signed else "SSL check", why)
            return 400
        return request

    def _signed(self, body: bytes, environ: dict[str, Any]) -> bool:
        try:
            return self._verifier.is_valid(body=body, timestamp=environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", ""),
                                           signature=environ.get("HTTP_X_SLACK_SIGNATURE", ""))
        except (TypeError, ValueError):  # a timestamp that is not a number; a body that is not UTF-8
            return False

    def _overdue(self, healthy: bool) -> dict[str, Any]:
        """Revocations owed past their grace, when there are any (a 200 still: restarting would not help)."""
        if not healthy:
            return {}
        try:
            figures = self._health_of.overdue()
        except Exception as error:
            log.warning("overdue check failed: %s", type(error).__name__)
            return {}
        if not figures.overdue:
            return {}
        return {"overdue_revocations": figures.overdue,
                "oldest_overdue_seconds": round(figures.oldest_overdue_seconds)}

    def _health(self) -> DatabaseHealth:
        """The database answers and takes writes (a no-op write, rolled back: see `SqlStore.health`)."""
        try:
            health = self._health_of.database()
        except Exception as error:  # the type says enough; a driver message may carry the database URL
            log.warning("health check failed: %s", type(error).__name__)
            return DatabaseHealth.UNREACHABLE
        if health is DatabaseHealth.UNREACHABLE:
            log.warning("health check failed: the database does not answer")
        elif health is DatabaseHealth.READ_ONLY:
            log.warning("health check failed: the database answers but refuses writes")
        return health


def _json(start_response: StartResponse, status: int, body: dict[str, Any]) -> list[bytes]:
    payload = json.dumps(body).encode()
    reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed",
              413: "Content Too Large", 503: "Service Unavailable"}[status]
    start_response(f"{status} {reason}", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]


def front_of(settings: Settings) -> HttpFront:
    """The server's sizes from HTTP_CONNECTION_LIMIT, HTTP_IDLE_TIMEOUT_SECONDS and SERVER_THREADS."""
    return HttpFront(threads=settings.server_threads, connection_limit=settings.http_connection_limit,
                     idle_timeout_seconds=settings.http_idle_timeout_seconds)


def serve(app: WsgiApp, *, host: str, port: int, front: HttpFront) -> None:
    """Serve until interrupted (the caller then lets the listeners finish)."""
    front = front.fitted_to_open_files()
    server = create_front_server(app, host=host, port=port, front=front)
    # The port bound (`--port 0`: one the system picked, which a supervisor or test reads from this line).
    log.info("serving Slack requests on http://%s:%d%s (at most %d connections, idle ones closed after %d s)",
             host, int(server.effective_port), EVENTS_PATH, front.connection_limit, front.idle_timeout_seconds)
    server.run()


class ServerThread:
    """The same server on a background thread; `start()` on port 0 picks a free port (see `.url`)."""

    def __init__(self, app: Callable[..., Iterable[bytes]], *, host: str = "127.0.0.1", port: int = 0,
                 threads: int = 32, front: HttpFront | None = None,
                 on_stop: Callable[[], None] | None = None) -> None:
        self._app, self._host, self._port = app, host, port
        self._front = front if front is not None else HttpFront(threads=threads)
        self._on_stop = on_stop  # after the server stopped: let the listeners finish (see bot.app)
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.url = ""

    def start(self) -> ServerThread:
        # A socket map of its own: waitress's default map is process-wide, so stopping one server would
        # close the sockets (and wake-up pipe) of every other server in the process.
        self._server = create_front_server(self._app, host=self._host, port=self._port, front=self._front, map={})
        self.url = f"http://{self._host}:{self._server.effective_port}"
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(self._server, self._stopping), name="waitress",
                                        daemon=True)
        self._thread.start()
        return self

    @staticmethod
    def _run(server: Any, stopping: threading.Event) -> None:
        try:
            server.run()
        except OSError:
            if not stopping.is_set():
                raise  # a closed socket is only expected once stop() closed them

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        # Close the sockets from inside the server's own loop (its trigger runs thunks there).
        try:
            server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
        except OSError:
            # The wake-up pipe was closed under us (seen rarely in test processes that start and stop many
            # servers). Its descriptor numbers may belong to someone else by now: leave them alone, close
            # the sockets from here; the loop ends on its next turn.
            log.warning("the server's wake-up pipe is gone; closing its sockets from this thread")
            server.trigger._closed = True
            server.trigger.del_channel()
            if server.trigger.socket is not None:
                server.trigger.socket.close()  # its own duplicate of the read end
            wasyncore.close_all(server._map, ignore_all=True)
        if self._thread is not None:
            self._thread.join(timeout=5)
        server.task_dispatcher.shutdown(timeout=5)  # let worker threads finish what they hold
        if self._on_stop is not None:
            self._on_stop()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

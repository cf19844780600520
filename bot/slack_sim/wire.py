"""The fake Slack's HTTP face: parses Web API calls as slack_sdk sends them, file uploads and response_url posts."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, urlparse

from bot.slack_sim.socket_mode import accept_key


class Dispatcher(Protocol):
    """What the HTTP layer hands requests to (the FakeSlackWebAPI)."""

    def web_api(self, *, method: str, args: dict[str, Any], token: str | None) -> tuple[int, dict[str, str], Any]: ...

    def upload(self, *, file_id: str, content: bytes) -> tuple[int, str]: ...

    def respond(self, *, key: str, body: Any) -> tuple[int, str]: ...

    def socket_mode(self, connection: Any, rfile: Any, wfile: Any) -> None: ...


class SimServer(ThreadingHTTPServer):
    """Keeps a connection open between calls when the client does (HTTP/1.1 without `Connection: close`), as Slack
    does; `server_close` shuts the open ones, so a stopped fake answers nothing, on a kept connection neither."""

    daemon_threads = True
    block_on_close = False  # never wait for a client's idle keep-alive connection at stop()

    def __init__(self, address: tuple[str, int], dispatcher: Dispatcher) -> None:
        super().__init__(address, _Handler)
        self.dispatcher = dispatcher
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def server_close(self) -> None:
        super().server_close()
        with self._open_lock:
            still_open = list(self._open)
        for request in still_open:  # its handler thread reads the end and finishes
            with contextlib.suppress(OSError):
                request.shutdown(socket.SHUT_RDWR)


def _single_values(pairs: dict[str, list[str]]) -> dict[str, Any]:
    return {key: values[0] if len(values) == 1 else values for key, values in pairs.items()}


def parse_args(*, query: str, body: bytes, content_type: str) -> dict[str, Any]:
    """Query string plus body: JSON (chat.*, views.*), form-encoded (most others), multipart (files.upload)."""
    args = _single_values(parse_qs(query, keep_blank_values=True))
    kind = content_type.split(";")[0].strip().lower()
    if not body or kind.startswith("multipart/"):
        return args
    if kind == "application/json":
        parsed = json.loads(body.decode("utf-8"))
        if isinstance(parsed, dict):
            args.update(parsed)
        return args
    args.update(_single_values(parse_qs(body.decode("utf-8"), keep_blank_values=True)))
    return args


def bearer_token(authorization: str | None, args: dict[str, Any]) -> str | None:
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    token = args.pop("token", None)
    return token if isinstance(token, str) else None


class _Handler(BaseHTTPRequestHandler):
    server: SimServer
    protocol_version = "HTTP/1.1"
    # An answer is written as headers, then body: on a kept connection Nagle's algorithm held the body back until
    # the client's delayed ACK of the headers (about 40 ms a call on Linux). Slack's servers do not make you wait so.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._route()

    def do_POST(self) -> None:  # noqa: N802
        self._route()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Quiet: tests read sim.calls instead of an access log."""

    def _route(self) -> None:
        url = urlparse(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        dispatcher = self.server.dispatcher
        parts = url.path.strip("/").split("/")
        if len(parts) == 2 and parts[0] == "api":
            self._api(parts[1], url.query, body)
        elif len(parts) == 2 and parts[0] == "upload":
            self._text(*dispatcher.upload(file_id=parts[1], content=body))
        elif len(parts) == 2 and parts[0] == "response" and self.command == "POST":
            self._text(*dispatcher.respond(key=parts[1], body=_json_or_none(body)))
        elif parts == ["link"] and (self.headers.get("Upgrade") or "").lower() == "websocket":
            self._websocket()
        else:
            self._text(404, "not found")

    def _websocket(self) -> None:
        """Socket Mode: the handshake, then the link runs the connection on this thread until it closes."""
        self.send_response(101, "Switching Protocols")
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept_key(self.headers.get("Sec-WebSocket-Key", "")))
        self.end_headers()
        self.wfile.flush()
        self.server.dispatcher.socket_mode(self.connection, self.rfile, self.wfile)
        self.close_connection = True

    def _api(self, method: str, query: str, body: bytes) -> None:
        try:
            args = parse_args(query=query, body=body, content_type=self.headers.get("Content-Type", ""))
        except (ValueError, UnicodeDecodeError):
            self._json(200, {}, {"ok": False, "error": "invalid_json"})
            return
        token = bearer_token(self.headers.get("Authorization"), args)
        status, headers, answer = self.server.dispatcher.web_api(method=method, args=args, token=token)
        self._json(status, headers, answer)

    def _json(self, status: int, headers: dict[str, str], answer: Any) -> None:
        self._send(status, "application/json; charset=utf-8", json.dumps(answer).encode("utf-8"), headers)

    def _text(self, status: int, text: str) -> None:
        self._send(status, "text/plain; charset=utf-8", text.encode("utf-8"), {})

    def _send(self, status: int, content_type: str, payload: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        if self.close_connection:  # the client asked to close it (urllib does); else it stays open for the next call
            self.send_header("Connection", "close")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None

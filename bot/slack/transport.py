"""Slack Web API calls over kept-alive connections.

slack_sdk's sync `WebClient` sends each call through `urllib.request.urlopen`, which opens a new connection (a TCP
and a TLS handshake) for every call and closes it after the answer. `KeepAliveWebClient` sends the same request over
an `http.client` connection it keeps open between calls: one per thread (the client is shared by many threads and an
`HTTPConnection` carries one exchange at a time) and per scheme, host and port. Everything above the exchange stays
slack_sdk's: the answer has urllib's shape and a 4xx/5xx raises urllib's `HTTPError`, so its 429 handling and retry
handlers work unchanged.
"""

from __future__ import annotations

import http.client
import io
import select
import ssl
import threading
import time
import urllib.error
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit
from urllib.request import Request

from slack_sdk import WebClient

IDLE_SECONDS = 30.0  # a kept connection idle longer is closed, not reused: Slack's side may have dropped it by then
DEFAULT_PORTS = {"http": 80, "https": 443}
# What a kept connection the server closed while it sat idle fails with, before any byte of an answer: the request
# never reached the server, so it is sent once more on a new connection.
STALE = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)  # http.client.RemoteDisconnected included

Key = tuple[str, str, int]  # scheme, host, port


class KeptConnections:
    """The connections kept open between calls, each thread its own (a thread takes one for a call and gives it back
    after a complete answer; one that failed is closed instead). A thread's connections go with the thread."""

    def __init__(self, *, idle_seconds: float = IDLE_SECONDS, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.idle_seconds = idle_seconds
        self._monotonic = monotonic
        self._local = threading.local()
        self._default_ssl: ssl.SSLContext | None = None
        self._ssl_lock = threading.Lock()

    def default_ssl(self) -> ssl.SSLContext:
        """urllib's default context, made once for all the clients sharing these connections rather than per
        connection (loading the CA certificates costs)."""
        with self._ssl_lock:
            if self._default_ssl is None:
                self._default_ssl = ssl.create_default_context()
            return self._default_ssl

    def _held(self) -> dict[Key, tuple[http.client.HTTPConnection, float]]:
        held: dict[Key, tuple[http.client.HTTPConnection, float]] | None = getattr(self._local, "held", None)
        if held is None:
            held = self._local.held = {}
        return held

    def take(self, key: Key) -> http.client.HTTPConnection | None:
        """This thread's open connection to `key`, unless it sat idle too long or the server has closed it."""
        kept = self._held().pop(key, None)
        if kept is None:
            return None
        connection, since = kept
        if self._monotonic() - since > self.idle_seconds or _dropped(connection):
            connection.close()
            return None
        return connection

    def give_back(self, key: Key, connection: http.client.HTTPConnection) -> None:
        old = self._held().get(key)
        if old is not None and old[0] is not connection:
            old[0].close()
        self._held()[key] = (connection, self._monotonic())

    def close(self) -> None:
        """Closes this thread's connections."""
        held = self._held()
        for connection, _ in held.values():
            connection.close()
        held.clear()


def _dropped(connection: http.client.HTTPConnection) -> bool:
    """Whether an idle connection is unusable: no socket, or readable (the server's close, or bytes nobody asked
    for). Checking costs one poll and spares sending a request into a connection that is already gone."""
    sock = connection.sock
    if sock is None:
        return True
    try:
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True


class KeepAliveWebClient(WebClient):
    """A WebClient whose calls reuse this thread's connection to Slack. With a proxy configured, or for a URL that is
    not http(s), calls take slack_sdk's own urllib path. `connections` may be shared by several clients of the same
    settings (SSL context and timeout): a connection is made with the settings of the client that opened it."""

    def __init__(self, *, connections: KeptConnections | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.connections = connections or KeptConnections()

    def _perform_urllib_http_request_internal(self, url: str, req: Request) -> dict[str, Any]:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if self.proxy is not None or scheme not in DEFAULT_PORTS or not parts.hostname:
            return super()._perform_urllib_http_request_internal(url, req)
        key: Key = (scheme, parts.hostname, parts.port or DEFAULT_PORTS[scheme])
        status, reason, headers, body = self._exchange(key, req)
        if 300 <= status < 400:
            # urllib follows some redirects (and refuses others) on its own terms; the Web API is not expected to
            # redirect, so the rare one is handed to urllib whole (the request sent again) rather than imitated.
            return super()._perform_urllib_http_request_internal(url, req)
        if not 200 <= status < 300:
            raise urllib.error.HTTPError(url, status, reason, headers, io.BytesIO(body))
        if headers.get_content_type() == "application/gzip":  # admin.analytics.getFile: bytes, as slack_sdk returns
            return {"status": status, "headers": headers, "body": body}
        return {"status": status, "headers": headers, "body": body.decode(headers.get_content_charset() or "utf-8")}

    def _exchange(self, key: Key, req: Request) -> tuple[int, str, http.client.HTTPMessage, bytes]:
        """One request and its whole answer; a kept connection found closed by the server is replaced once."""
        headers = _request_headers(req)
        connection = self.connections.take(key)
        if connection is not None:
            try:
                return self._send(key, connection, req, headers, stale_is_error=False)
            except _Stale:
                pass
        return self._send(key, self._connect(key), req, headers, stale_is_error=True)

    def _send(self, key: Key, connection: http.client.HTTPConnection, req: Request, headers: dict[str, str], *,
              stale_is_error: bool) -> tuple[int, str, http.client.HTTPMessage, bytes]:
        """Like urllib: an OSError while connecting or sending is a URLError, one while waiting for the answer is
        raised as it is (ConnectionErrorRetryHandler retries both), and the connection is closed on any error."""
        try:
            try:
                connection.request(req.get_method(), req.selector, req.data, headers,
                                   encode_chunked=req.has_header("Transfer-encoding"))
            except STALE as error:
                if stale_is_error:
                    raise urllib.error.URLError(error) from error
                raise _Stale from error
            except OSError as error:
                raise urllib.error.URLError(error) from error
            except ValueError:
                # http.client quotes the offending header value, which may be the Authorization header: not here.
                raise ValueError("a Slack request could not be written (an invalid header value or URL)") from None
            try:
                response = connection.getresponse()
            except STALE as error:
                if stale_is_error:
                    raise
                raise _Stale from error
            body = response.read()
        except BaseException:
            connection.close()
            raise
        if response.will_close:
            connection.close()  # the server said `Connection: close` (or spoke HTTP/1.0): the next call opens anew
        else:
            self.connections.give_back(key, connection)
        return response.status, response.reason, response.headers, body

    def _connect(self, key: Key) -> http.client.HTTPConnection:
        """A connection not yet open: `request` connects it, so connection errors surface there (as urllib's)."""
        scheme, host, port = key
        if scheme == "https":
            context = self.ssl or self.connections.default_ssl()
            return http.client.HTTPSConnection(host, port, timeout=self.timeout, context=context)
        return http.client.HTTPConnection(host, port, timeout=self.timeout)


class _Stale(Exception):
    """A kept connection was found closed before any byte of an answer arrived."""


def _request_headers(req: Request) -> dict[str, str]:
    """The headers urllib would send for `req`, without its `Connection: close` (http.client adds Host, the
    Content-Length of a bytes body and `Accept-Encoding: identity`, as it does under urllib)."""
    headers = {name.title(): value for name, value in req.header_items()}
    if req.data is not None and "Content-Type" not in headers:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    headers.pop("Connection", None)
    return headers

"""The Slack client's kept-alive connections (bot.slack.transport), against a real HTTP/1.1 server on 127.0.0.1 that
counts the TCP connections it accepts and the requests it reads, and answers as each test scripts it."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.client import RemoteDisconnected
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any
from urllib.error import URLError
from urllib.parse import urlencode

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from slack_bolt import Ack
from slack_bolt.request import BoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier

from bot.observability import ObservedWebClient
from bot.slack.bolt import new_bolt_app
from bot.slack.transport import KeptConnections
from bot.slack_retries import retry_handlers
from tests.e2e.harness import wait

TOKEN = "xoxb-transport-test-token"


@dataclass
class Answer:
    status: int = 200
    body: Any = field(default_factory=lambda: {"ok": True})
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json; charset=utf-8"
    close: bool = False  # `Connection: close`, then close
    hang_up: bool = False  # answer as if keeping the connection, then close it (an idle timeout, early)
    drop: bool = False  # read the request, close without a byte of answer


class Wire(ThreadingHTTPServer):
    """The scripted server: `script` answers the next requests in turn (then `{"ok": true}`)."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, *, protocol: str = "HTTP/1.1", tls: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.protocol, self.script = protocol, list[Answer]()
        self.connections, self.closed = 0, 0
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.lock = threading.Lock()
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True)

    def get_request(self) -> tuple[socket.socket, Any]:
        accepted = super().get_request()
        with self.lock:
            self.connections += 1
        return accepted

    def shutdown_request(self, request: Any) -> None:
        super().shutdown_request(request)
        with self.lock:
            self.closed += 1

    def next_answer(self, path: str, headers: dict[str, str]) -> Answer:
        with self.lock:
            self.requests.append((path, headers))
            return self.script.pop(0) if self.script else Answer()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/api/"


class Handler(BaseHTTPRequestHandler):
    server: Wire
    disable_nagle_algorithm = True  # headers and body are two writes: no delayed-ACK wait between them

    def setup(self) -> None:
        super().setup()
        self.protocol_version = self.server.protocol

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        answer = self.server.next_answer(self.path, dict(self.headers.items()))
        if answer.drop:
            self.close_connection = True
            return
        payload = answer.body if isinstance(answer.body, bytes) else json.dumps(answer.body).encode()
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        if answer.close:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)
        self.close_connection = self.close_connection or answer.close or answer.hang_up

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Quiet."""



def serve(wire: Wire) -> Iterator[Wire]:
    thread = threading.Thread(target=wire.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield wire
    wire.shutdown()
    wire.server_close()
    thread.join(timeout=5)


@pytest.fixture
def wire() -> Iterator[Wire]:
    yield from serve(Wire())


class Sleeps(list[float]):
    """The waits slack_sdk's retry handlers asked for (recorded, not slept)."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client_for(url: str, *, sleeps: Sleeps | None = None, errors: list[tuple[str, str]] | None = None,
               **options: Any) -> ObservedWebClient:
    """The app's client (bot.app.slack_client): ObservedWebClient with the app's retry handlers."""
    return ObservedWebClient(**{
        "token": TOKEN, "base_url": url, "timeout": 5,
        "retry_handlers": retry_handlers(sleeps if sleeps is not None else Sleeps()),
        "on_error": (lambda method, error: errors.append((method, error))) if errors is not None else None,
        **options,
    })


def test_calls_from_one_thread_share_one_connection(wire: Wire) -> None:
    client = client_for(wire.url)
    for n in range(5):
        assert client.chat_postMessage(channel="C1", text=f"message {n}")["ok"]
    assert len(wire.requests) == 5 and wire.connections == 1


def test_each_thread_has_its_own_connection(wire: Wire) -> None:
    client = client_for(wire.url)
    both = threading.Barrier(2)
    answers: list[bool] = []

    def calls() -> None:
        both.wait(timeout=5)  # both threads alive at once: neither can inherit the other's connection
        for _ in range(3):
            answers.append(client.chat_postMessage(channel="C1", text="x")["ok"])
        both.wait(timeout=5)

    threads = [threading.Thread(target=calls) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert answers == [True] * 6 and wire.connections == 2


def test_a_connection_the_server_closed_while_idle_is_replaced_and_the_call_reaches_it_once(wire: Wire) -> None:
    wire.script = [Answer(hang_up=True)]
    client = client_for(wire.url)
    assert client.chat_postMessage(channel="C1", text="first")["ok"]
    wait(lambda: wire.closed == 1)  # the server's side of the kept connection is gone
    assert client.chat_postMessage(channel="C1", text="second")["ok"]
    assert len(wire.requests) == 2 and wire.connections == 2


def test_a_request_a_kept_connection_lost_unanswered_is_sent_once_more_on_a_new_one(wire: Wire) -> None:
    """The server read the second request and closed without a byte of answer (an idle timeout racing the send
    looks the same from here): the transport sends it again once on a new connection, without the back-off of
    slack_sdk's connection-error retry (which would have sent it again too)."""
    wire.script = [Answer(), Answer(drop=True)]
    sleeps = Sleeps()
    client = client_for(wire.url, sleeps=sleeps)
    assert client.chat_postMessage(channel="C1", text="first")["ok"]
    assert client.chat_postMessage(channel="C1", text="second")["ok"]
    assert len(wire.requests) == 3 and wire.connections == 2 and sleeps == []


def test_a_fresh_connection_that_fails_raises_as_urllib_and_slack_sdk_retries_it(wire: Wire) -> None:
    wire.script = [Answer(drop=True), Answer(drop=True), Answer(drop=True)]
    with pytest.raises(RemoteDisconnected):
        WebClient(token=TOKEN, base_url=wire.url, retry_handlers=[]).auth_test()  # slack_sdk's urllib: the reference
    sleeps, errors = Sleeps(), list[tuple[str, str]]()
    client = client_for(wire.url, sleeps=sleeps, errors=errors)
    with pytest.raises(RemoteDisconnected):
        client.auth_test()  # no retry of our own on a new connection; the app's handler tries once more
    assert len(sleeps) == 1 and errors == [("auth.test", "RemoteDisconnected")]
    assert client.auth_test()["ok"]
    assert len(wire.requests) == 4 and wire.connections == 4


def test_a_refused_connection_is_a_urlerror_that_slack_sdk_retries() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{unused.getsockname()[1]}/api/"
    sleeps, errors = Sleeps(), list[tuple[str, str]]()
    with pytest.raises(URLError):
        client_for(url, sleeps=sleeps, errors=errors).auth_test()
    assert len(sleeps) == 1 and errors == [("auth.test", "URLError")]


def test_a_429_waits_its_retry_after_through_slack_sdks_handler_on_the_same_connection(wire: Wire) -> None:
    wire.script = [Answer(status=429, headers={"Retry-After": "3"}, body={"ok": False, "error": "ratelimited"})]
    sleeps = Sleeps()
    client = client_for(wire.url, sleeps=sleeps)
    assert client.chat_postMessage(channel="C1", text="x")["ok"]
    assert len(sleeps) == 1 and 3 <= sleeps[0] < 4
    assert len(wire.requests) == 2 and wire.connections == 1


def test_a_429_past_its_retries_raises_slack_api_error_with_the_status_and_headers(wire: Wire) -> None:
    wire.script = [Answer(status=429, headers={"Retry-After": "1"}, body={"ok": False, "error": "ratelimited"})]
    with pytest.raises(SlackApiError) as raised:
        client_for(wire.url, retry_handlers=[]).chat_postMessage(channel="C1", text="x")
    assert raised.value.response.status_code == 429 and raised.value.response.headers["Retry-After"] == "1"
    assert raised.value.response["error"] == "ratelimited"


def test_a_5xx_is_retried_by_slack_sdk_and_an_ok_false_still_raises_and_is_reported(wire: Wire) -> None:
    wire.script = [Answer(status=503, body={"ok": False, "error": "service_unavailable"}),
                   Answer(body={"ok": False, "error": "channel_not_found"})]
    sleeps, errors = Sleeps(), list[tuple[str, str]]()
    client = client_for(wire.url, sleeps=sleeps, errors=errors)
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C404", text="x")
    assert raised.value.response["error"] == "channel_not_found" and len(sleeps) == 1
    assert errors == [("chat.postMessage", "channel_not_found")]
    assert client.chat_postMessage(channel="C1", text="x")["ok"]
    assert wire.connections == 1  # an error status keeps the connection (its body was read whole)


def test_a_server_answering_connection_close_gets_a_new_connection_per_call() -> None:
    for wire in serve(Wire()):
        wire.script = [Answer(close=True)] * 3
        client = client_for(wire.url)
        assert all(client.auth_test()["ok"] for _ in range(3))
        assert wire.connections == 3


def test_an_http_1_0_server_gets_a_new_connection_per_call() -> None:
    for wire in serve(Wire(protocol="HTTP/1.0")):
        client = client_for(wire.url)
        assert all(client.auth_test()["ok"] for _ in range(3))
        assert len(wire.requests) == 3 and wire.connections == 3


def test_a_connection_idle_longer_than_the_limit_is_not_reused(wire: Wire) -> None:
    now = [0.0]
    client = client_for(wire.url, connections=KeptConnections(idle_seconds=30, monotonic=lambda: now[0]))
    client.auth_test()
    now[0] += 29
    client.auth_test()
    now[0] += 31
    client.auth_test()
    assert wire.connections == 2


def test_the_request_is_urllibs_without_its_connection_close(wire: Wire) -> None:
    """The same headers as slack_sdk's urllib path sends (Host with its port, Content-Length, User-Agent, ...)."""
    WebClient(token=TOKEN, base_url=wire.url).chat_postMessage(channel="C1", text="x")
    client_for(wire.url).chat_postMessage(channel="C1", text="x")
    (urllib_path, sent_by_urllib), (path, sent) = wire.requests
    assert sent_by_urllib.pop("Connection") == "close" and "Connection" not in sent
    assert path == urllib_path == "/api/chat.postMessage" and sent == sent_by_urllib


def test_a_gzip_answer_is_returned_as_bytes_as_slack_sdk_does(wire: Wire) -> None:
    wire.script = [Answer(body=b"\x1f\x8b gzipped", content_type="application/gzip")]
    assert client_for(wire.url).admin_analytics_getFile(type="member").data == b"\x1f\x8b gzipped"


def test_a_proxy_takes_slack_sdks_own_path(wire: Wire) -> None:
    """The wire plays the proxy: urllib asks it for the absolute URL, one connection a call."""
    client = client_for("http://slack.invalid/api/", proxy=f"http://127.0.0.1:{wire.server_address[1]}")
    assert client.auth_test()["ok"] and client.auth_test()["ok"]
    assert [path for path, _ in wire.requests] == ["http://slack.invalid/api/auth.test"] * 2
    assert wire.connections == 2


def test_a_bad_token_is_quoted_neither_in_the_error_nor_in_the_log(caplog: pytest.LogCaptureFixture) -> None:
    """http.client quotes an invalid header value in its error, and this one is the Authorization header."""
    with caplog.at_level("DEBUG"), pytest.raises(ValueError) as raised:
        client_for("http://127.0.0.1:9/api/", token=TOKEN + "\nX-Injected: 1").auth_test()
    assert "header" in str(raised.value) and TOKEN not in str(raised.value) and TOKEN not in caplog.text


def test_https_reuses_the_connection_with_the_clients_ssl_context(tmp_path: Path) -> None:
    """A self-signed certificate for 127.0.0.1: the client's SSL context trusts it, the default context does not."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(1).not_valid_before(now - timedelta(minutes=1))
                   .not_valid_after(now + timedelta(hours=1))
                   .add_extension(x509.SubjectAlternativeName([x509.IPAddress(IPv4Address("127.0.0.1"))]),
                                  critical=False)
                   .sign(key, hashes.SHA256()))
    pem = certificate.public_bytes(serialization.Encoding.PEM)
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    chain = tmp_path / "server.pem"
    chain.write_bytes(pem + key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()))
    server_tls.load_cert_chain(chain)
    trusting = ssl.create_default_context(cadata=pem.decode())
    for wire in serve(Wire(tls=server_tls)):
        url = wire.url.replace("http://", "https://")
        client = client_for(url, ssl=trusting)
        assert all(client.auth_test()["ok"] for _ in range(3))
        assert wire.connections == 1
        with pytest.raises(URLError) as raised:
            client_for(url, retry_handlers=[]).auth_test()
        assert "CERTIFICATE_VERIFY_FAILED" in str(raised.value)


def test_bolts_listeners_call_slack_on_the_apps_kept_connections(wire: Wire) -> None:
    """Bolt makes a plain WebClient per request; the app's middleware swaps in one on the app's connections, so a
    listener thread keeps its connection from one request to the next. (Bolt's one auth.test goes its own way.)"""
    wire.script = [Answer(body={"ok": True, "team_id": "T1", "user_id": "U0BOT", "bot_id": "B1", "team": "t",
                                "user": "atlas-access"})]
    app = new_bolt_app(signing_secret="transport-test-secret", client=client_for(wire.url), listener_threads=1)

    @app.command("/access")
    def command(ack: Ack, client: WebClient) -> None:
        ack()
        client.chat_postMessage(channel="C1", text="one")
        client.chat_postMessage(channel="C1", text="two")

    for _ in range(2):
        body = urlencode({"command": "/access", "text": "", "user_id": "U1", "team_id": "T1", "channel_id": "C1",
                          "trigger_id": "1.2.3", "response_url": wire.url + "response"})
        stamp = str(int(time.time()))
        signature = SignatureVerifier("transport-test-secret").generate_signature(timestamp=stamp, body=body)
        response = app.dispatch(BoltRequest(body=body, headers={
            "content-type": "application/x-www-form-urlencoded", "x-slack-request-timestamp": stamp,
            "x-slack-signature": signature}))
        assert response.status == 200
    wait(lambda: len(wire.requests) == 5)
    app.listener_runner.listener_executor.shutdown(wait=True)
    assert [path for path, _ in wire.requests] == ["/api/auth.test"] + ["/api/chat.postMessage"] * 4
    assert wire.connections == 2

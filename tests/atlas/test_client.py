"""The typed Atlas client against the sandbox: auth, versions, paging, retries, typed errors, no leaked secrets."""

from __future__ import annotations

import http.server
import logging
import socket
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from atlas.client import AtlasClient, environment_proxy
from atlas.credentials import ApiKey, ServiceAccount
from atlas.errors import (
    AtlasAuthError,
    AtlasConflict,
    AtlasError,
    AtlasHTTPError,
    AtlasNotFound,
    AtlasRateLimited,
    AtlasServerError,
    AtlasTransportError,
)
from atlas.limits import Priority
from atlas.sandbox import SandboxServer, SandboxTransport
from tests.atlas.helpers import World


def calls_of(world: World, operation_id: str) -> list[Any]:
    return world.answered(operation_id)


def call_from_threads(client: AtlasClient, org_id: str, *, threads: int, each: int,
                      priority: Priority = Priority.NORMAL) -> None:
    """`threads` threads calling getOrg `each` times at once; returns when all are done."""
    def work() -> None:
        for _ in range(each):
            client.call("getOrg", path_params={"orgId": org_id}, priority=priority)

    started = [threading.Thread(target=work) for _ in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join()


def header(call: Any, name: str) -> str | None:
    return {k.lower(): v for k, v in dict(call.headers).items()}.get(name.lower())


@pytest.fixture
def server(world: World) -> Iterator[Any]:
    served = SandboxServer(world.sandbox, port=0)
    served.start()
    yield served
    served.stop()


# --- auth ----------------------------------------------------------------------------------------------------


def test_an_api_key_authenticates_with_digest(world: World) -> None:
    client = world.client(world.api_key)
    assert client.call("getOrg", path_params={"orgId": world.org_id})["name"] == "Acme"


class _SettingCookies(httpx.BaseTransport):
    """The sandbox behind a proxy that sets a cookie on every answer (a Digest challenge's aside: httpx hands that
    one to the request answering it, within the call), keeping the Cookie header each request carried."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner, self.cookies_sent = inner, list[str | None]()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.cookies_sent.append(request.headers.get("Cookie"))
        response = self.inner.handle_request(request)
        if response.status_code != 401:
            response.headers["Set-Cookie"] = "session=from-an-earlier-answer; Path=/"
        return response


def test_no_call_carries_a_cookie_an_earlier_answer_set(world: World) -> None:
    # Given answers that each set a cookie (the Admin API keeps no session in cookies)
    transport = _SettingCookies(SandboxTransport(world.sandbox))
    client = world.client(world.api_key, transport=transport)
    # When the client calls twice
    client.call("getOrg", path_params={"orgId": world.org_id})
    client.call("getOrg", path_params={"orgId": world.org_id})
    # Then no request sent a cookie back
    assert len(transport.cookies_sent) >= 2 and transport.cookies_sent == [None] * len(transport.cookies_sent)


def test_a_service_account_fetches_one_token_for_many_calls(world: World) -> None:
    # Given a service-account client used from several threads
    client = world.client(world.service_account)
    call_from_threads(client, world.org_id, threads=6, each=10)
    # Then sixty calls went out on one token, sent as a bearer token
    assert world.sandbox.tokens_issued(world.service_account.client_id) == 1
    assert world.count("getOrg") == 60
    assert header(calls_of(world, "getOrg")[0], "Authorization").startswith("Bearer")


def test_the_token_is_refreshed_shortly_before_it_expires(world: World) -> None:
    client = world.client(world.service_account)
    org = {"orgId": world.org_id}
    client.call("getOrg", path_params=org)
    # When most of the hour has passed, the cached token still serves
    world.clock.advance(seconds=3600 - 61)
    client.call("getOrg", path_params=org)
    assert world.sandbox.tokens_issued(world.service_account.client_id) == 1
    # When it is within a minute of expiry, a new one is fetched before the call
    world.clock.advance(seconds=2)
    client.call("getOrg", path_params=org)
    assert world.sandbox.tokens_issued(world.service_account.client_id) == 2


def test_a_refused_cached_token_is_dropped_and_the_call_tried_once_more(world: World) -> None:
    client = world.client(world.service_account)
    client.call("getOrg", path_params={"orgId": world.org_id})
    world.sandbox.faults.fail_next(status=401, count=1, operation_id="getOrg")
    assert client.call("getOrg", path_params={"orgId": world.org_id})["name"] == "Acme"
    assert world.sandbox.tokens_issued(world.service_account.client_id) == 2


def test_the_token_url_follows_base_url(world: World, server: Any) -> None:
    # Given no transport: the client really talks HTTP, and only the sandbox server is there to answer
    client = world.client(world.service_account, base_url=server.url, transport=None)
    assert client.call("getOrg", path_params={"orgId": world.org_id})["name"] == "Acme"
    assert world.sandbox.tokens_issued(world.service_account.client_id) == 1


def test_wrong_credentials_raise_an_auth_error_naming_the_status(world: World) -> None:
    client = world.client(ApiKey(public_key=world.api_key.public_key, private_key="not-the-key"))
    with pytest.raises(AtlasAuthError) as raised:
        client.call("getOrg", path_params={"orgId": world.org_id})
    assert raised.value.status == 401 and "401" in str(raised.value)


# --- versions, bodies, paging ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("operation_id", "version"), [
    ("getOrg", "2023-01-01"), ("listGroupClusters", "2024-08-05"), ("listOrgUsers", "2025-02-19"),
])
def test_accept_carries_the_operation_version(world: World, operation_id: str, version: str) -> None:
    group = world.sandbox.add_project(org_id=world.org_id, name="p", tags={})
    client = world.client()
    client.call(operation_id, path_params={"orgId": world.org_id, "groupId": group})
    sent = calls_of(world, operation_id)[-1]
    assert header(sent, "Accept") == f"application/vnd.atlas.{version}+json"
    assert header(sent, "Content-Type") is None


def test_a_body_goes_with_the_same_versioned_content_type(world: World) -> None:
    client = world.client()
    created = client.call("createOrgUser", path_params={"orgId": world.org_id},
                          json={"username": "new@example.com", "roles": {"orgRoles": ["ORG_MEMBER"]}})
    assert created["orgMembershipStatus"] == "PENDING"
    sent = calls_of(world, "createOrgUser")[-1]
    assert header(sent, "Content-Type") == "application/vnd.atlas.2025-02-19+json"
    assert header(sent, "Accept") == "application/vnd.atlas.2025-02-19+json"


def test_a_204_answer_is_none(world: World) -> None:
    uid = world.sandbox.add_user(org_id=world.org_id, username="ann@example.com", org_roles=["ORG_MEMBER"],
                                 project_roles={}, status="ACTIVE")
    assert world.client().call("removeOrgUser", path_params={"orgId": world.org_id, "userId": uid}) is None
    assert world.sandbox.org_user(world.org_id, "ann@example.com") is None


def test_paginate_walks_every_page_500_at_a_time(world: World) -> None:
    # Given 1,203 projects
    for i in range(1203):
        world.sandbox.add_project(org_id=world.org_id, name=f"project-{i:04d}", tags={})
    # When the client lists them
    names = [g["name"] for g in world.client().paginate("getOrgGroups", path_params={"orgId": world.org_id})]
    # Then it has all of them, in three calls of 500 a page
    assert len(names) == 1203 and len(set(names)) == 1203
    pages = calls_of(world, "getOrgGroups")
    assert len(pages) == 3
    assert all(str(p.query.get("itemsPerPage")) in ("500", "['500']") for p in pages)


def test_a_list_of_exactly_500_takes_one_call(world: World) -> None:
    for i in range(500):
        world.sandbox.add_project(org_id=world.org_id, name=f"p{i}", tags={})
    assert len(list(world.client().paginate("getOrgGroups", path_params={"orgId": world.org_id}))) == 500
    assert world.count("getOrgGroups") == 1


# --- errors and retries ------------------------------------------------------------------------------------


def test_a_404_is_a_typed_error_with_code_and_detail(world: World) -> None:
    with pytest.raises(AtlasNotFound) as raised:
        world.client().call("getGroup", path_params={"groupId": "0" * 24})
    error = raised.value
    assert isinstance(error, AtlasHTTPError) and error.status == 404 and error.operation_id == "getGroup"
    assert error.error_code and error.error_code in str(error)
    assert error.detail and error.detail in str(error)


def test_a_409_is_a_conflict(world: World) -> None:
    world.sandbox.add_user(org_id=world.org_id, username="ann@example.com", org_roles=["ORG_MEMBER"],
                           project_roles={}, status="ACTIVE")
    with pytest.raises(AtlasConflict):
        world.client().call("createOrgUser", path_params={"orgId": world.org_id},
                            json={"username": "ann@example.com", "roles": {"orgRoles": ["ORG_MEMBER"]}})


@pytest.mark.parametrize("operation_id", ["getOrg", "createOrgUser"])
def test_a_429_is_retried_after_retry_after_whatever_the_method(world: World, operation_id: str) -> None:
    world.sandbox.faults.fail_next(status=429, retry_after=7, count=1, operation_id=operation_id)
    client = world.client()
    if operation_id == "getOrg":
        client.call("getOrg", path_params={"orgId": world.org_id})
    else:
        client.call("createOrgUser", path_params={"orgId": world.org_id},
                    json={"username": "new@example.com", "roles": {"orgRoles": ["ORG_MEMBER"]}})
    assert world.sleeps.waits == [7]
    assert world.count(operation_id) == 2


def test_retry_after_is_bounded_by_the_backoff_cap(world: World) -> None:
    world.sandbox.faults.fail_next(status=429, retry_after=3600, count=1)
    world.client(backoff_cap=20.0).call("getOrg", path_params={"orgId": world.org_id})
    assert world.sleeps.waits == [20.0]


def test_a_5xx_is_retried_on_a_get(world: World) -> None:
    world.sandbox.faults.fail_next(status=503, count=2, operation_id="getOrg")
    assert world.client().call("getOrg", path_params={"orgId": world.org_id})["name"] == "Acme"
    assert world.count("getOrg") == 3
    assert len(world.sleeps.waits) == 2 and all(0 <= w <= 1.0 for w in world.sleeps.waits)


def test_a_5xx_is_not_retried_on_a_create(world: World) -> None:
    world.sandbox.faults.fail_next(status=500, count=1, operation_id="createOrgUser")
    with pytest.raises(AtlasServerError) as raised:
        world.client().call("createOrgUser", path_params={"orgId": world.org_id},
                            json={"username": "new@example.com", "roles": {"orgRoles": ["ORG_MEMBER"]}})
    assert raised.value.status == 500
    assert world.count("createOrgUser") == 1 and world.sleeps.waits == []


def test_a_5xx_is_retried_on_an_add_role_post(world: World) -> None:
    uid = world.sandbox.add_user(org_id=world.org_id, username="ann@example.com", org_roles=["ORG_MEMBER"],
                                 project_roles={}, status="ACTIVE")
    world.sandbox.faults.fail_next(status=502, count=1, operation_id="addOrgUserRole")
    world.client().call("addOrgUserRole", path_params={"orgId": world.org_id, "userId": uid},
                        json={"orgRole": "ORG_READ_ONLY"})
    assert world.sandbox.org_roles(world.org_id, "ann@example.com") == {"ORG_MEMBER", "ORG_READ_ONLY"}


@pytest.mark.parametrize(("status", "error"), [(503, AtlasServerError), (429, AtlasRateLimited)])
def test_retries_are_bounded_then_a_typed_error(world: World, status: int, error: type[AtlasError]) -> None:
    world.sandbox.faults.fail_next(status=status, count=50, operation_id="getOrg")
    with pytest.raises(error) as raised:
        world.client(max_retries=3).call("getOrg", path_params={"orgId": world.org_id})
    assert raised.value.status == status and raised.value.error_code
    assert world.count("getOrg") == 4 and len(world.sleeps.waits) == 3


def test_backoff_grows_but_stays_under_the_cap(world: World) -> None:
    world.sandbox.faults.fail_next(status=503, count=50, operation_id="getOrg")
    with pytest.raises(AtlasServerError):
        world.client(max_retries=6, backoff_base=0.5, backoff_cap=4.0).call("getOrg",
                                                                          path_params={"orgId": world.org_id})
    assert all(0 <= w <= min(4.0, 0.5 * 2**i) for i, w in enumerate(world.sleeps.waits))


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_connection_refused_is_a_transport_error(world: World) -> None:
    client = world.client(base_url=f"http://127.0.0.1:{closed_port()}", transport=None, max_retries=2)
    with pytest.raises(AtlasTransportError) as raised:
        client.call("createOrgUser", path_params={"orgId": world.org_id},
                    json={"username": "new@example.com", "roles": {"orgRoles": ["ORG_MEMBER"]}})
    assert "connection failed" in str(raised.value)
    # A refused connection carried nothing, so even a create was tried again
    assert len(world.sleeps.waits) == 2


def test_a_timeout_is_a_transport_error(world: World, server: Any) -> None:
    world.sandbox.faults.latency = 0.3
    client = world.client(base_url=server.url, transport=None, max_retries=1, timeout=httpx.Timeout(0.05))
    with pytest.raises(AtlasTransportError) as raised:
        client.call("getOrg", path_params={"orgId": world.org_id})
    assert "timed out" in str(raised.value) and len(world.sleeps.waits) == 1
    world.sandbox.faults.latency = 0


def test_a_timed_out_create_is_not_sent_again(world: World, server: Any) -> None:
    world.sandbox.faults.latency = 0.3
    client = world.client(base_url=server.url, transport=None, timeout=httpx.Timeout(0.05))
    with pytest.raises(AtlasTransportError):
        client.call("createOrgUser", path_params={"orgId": world.org_id},
                    json={"username": "new@example.com", "roles": {"orgRoles": ["ORG_MEMBER"]}})
    assert world.sleeps.waits == []
    world.sandbox.faults.latency = 0


# --- concurrency, metrics, secrets ---------------------------------------------------------------------------


class CountingTransport(httpx.BaseTransport):
    """Instrumentation around the sandbox transport: how many requests are inside it at once."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner, self.current, self.peak, self.lock = inner, 0, 0, threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.current += 1
            self.peak = max(self.peak, self.current)
        try:
            return self.inner.handle_request(request)
        finally:
            with self.lock:
                self.current -= 1


def test_calls_in_flight_never_exceed_max_concurrency(world: World) -> None:
    world.sandbox.faults.latency = 0.01
    transport = CountingTransport(SandboxTransport(world.sandbox))
    client = world.client(world.service_account, transport=transport, max_concurrency=3)
    call_from_threads(client, world.org_id, threads=8, each=4, priority=Priority.BULK)
    world.sandbox.faults.latency = 0
    assert transport.peak == 3 and world.count("getOrg") == 32


def test_calls_over_http_keep_a_connection_each_at_most_and_answer_one_digest_challenge(world: World,
                                                                                       server: Any) -> None:
    # given an API-key client of three slots talking HTTP to the sandbox, each call in flight on a client of its own
    client = world.client(base_url=server.url, transport=None, max_concurrency=3)
    # when calls go one after another, they share one kept-alive connection
    for _ in range(5):
        client.call("getOrg", path_params={"orgId": world.org_id})
    assert len(server._server.connections) == 1
    # and when eight threads call at once, at most three connections are open, one per slot
    world.sandbox.faults.latency = 0.01
    call_from_threads(client, world.org_id, threads=8, each=4)
    world.sandbox.faults.latency = 0
    assert world.count("getOrg") == 37 and 1 < len(server._server.connections) <= 3
    # then the clients share one Digest session: Atlas challenged the first call only, not each new connection
    assert len(world.sandbox.challenges) == 1


def test_on_call_reports_every_attempt(world: World) -> None:
    seen: list[tuple[str, float, int]] = []
    world.sandbox.faults.fail_next(status=503, count=1, operation_id="getOrg")
    client = world.client(world.service_account, on_call=lambda *args: seen.append(args))
    client.call("getOrg", path_params={"orgId": world.org_id})
    assert [(op, status) for op, _, status in seen] == [("oauthToken", 200), ("getOrg", 503), ("getOrg", 200)]
    assert all(seconds >= 0 for _, seconds, _ in seen)


def test_no_secret_in_errors_reprs_or_logs(world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    bad_key = ApiKey(public_key=world.api_key.public_key, private_key="private-key-SECRET-1")
    bad_account = ServiceAccount(client_id=world.service_account.client_id, client_secret="client-SECRET-2")
    texts: list[str] = [repr(bad_key), str(bad_key), repr(bad_account), str(bad_account)]
    for credentials in (bad_key, bad_account, world.api_key, world.service_account):
        client = world.client(credentials, max_retries=1)
        texts.append(repr(client))
        world.sandbox.faults.fail_next(status=503, count=5, operation_id="getOrg")
        try:
            client.call("getOrg", path_params={"orgId": world.org_id})
        except AtlasError as error:
            texts += [str(error), repr(error), repr(error.__cause__), repr(error.__context__)]
    dump = "\n".join(texts) + caplog.text
    for secret in ("private-key-SECRET-1", "client-SECRET-2", world.api_key.private_key.get_secret_value(),
                   world.service_account.client_secret.get_secret_value()):
        assert secret not in dump
    assert "Bearer" not in caplog.text


def test_an_atlas_detail_that_echoes_a_secret_is_masked(world: World) -> None:
    # Given a (contrived) request whose input Atlas echoes back in its error detail
    secret = world.api_key.private_key.get_secret_value()
    with pytest.raises(AtlasHTTPError) as raised:
        world.client().call("getGroup", path_params={"groupId": secret})
    assert secret not in str(raised.value) and secret not in repr(raised.value)


def test_the_client_is_usable_as_a_context_manager(world: World) -> None:
    with AtlasClient(credentials=world.api_key, transport=SandboxTransport(world.sandbox)) as client:
        assert client.identity == world.api_key.public_key
        assert client.max_concurrency == 8


def test_closing_a_service_account_client_revokes_its_token(world: World) -> None:
    client = AtlasClient(credentials=world.service_account, transport=SandboxTransport(world.sandbox),
                         clock=world.clock)
    client.call("getOrg", path_params={"orgId": world.org_id})
    token_call = calls_of(world, "oauthToken")[0]
    client.close()
    revoke = calls_of(world, "oauthRevoke")
    assert len(revoke) == 1 and revoke[0].status == 200
    assert token_call.status == 200


def test_after_a_429_bulk_calls_hold_back_but_normal_calls_do_not(world: World) -> None:
    # Given one call was told 429 with Retry-After: 7
    world.sandbox.faults.fail_next(status=429, retry_after=7, count=1, operation_id="getOrg")
    client = world.client()
    client.call("getOrg", path_params={"orgId": world.org_id})
    assert world.sleeps.waits == [7]
    # When a revocation-like (NORMAL) call follows, it goes at once
    client.call("getOrg", path_params={"orgId": world.org_id})
    assert world.sleeps.waits == [7]
    # When a discovery (BULK) call follows, it first waits out the rest of the pause
    client.call("getOrg", path_params={"orgId": world.org_id}, priority=Priority.BULK)
    assert len(world.sleeps.waits) == 2 and 6.0 < world.sleeps.waits[1] <= 7.0


# --- the environment's proxy ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "proxies", "expected"), [
    ("https://cloud.mongodb.com", {}, None),
    ("https://cloud.mongodb.com", {"https": "http://proxy:3128"}, "http://proxy:3128"),
    ("https://cloud.mongodb.com", {"http": "http://proxy:3128"}, None),  # HTTP_PROXY is for http URLs
    ("https://cloud.mongodb.com", {"all": "proxy:3128"}, "http://proxy:3128"),  # ALL_PROXY, a bare host: http
    ("https://cloud.mongodb.com", {"https": "http://a:1", "all": "http://b:2"}, "http://a:1"),
    ("https://cloud.mongodb.com", {"https": "http://a:1", "no": "*"}, None),
    ("https://cloud.mongodb.com", {"https": "http://a:1", "no": "mongodb.com"}, None),  # the domain and below
    ("https://cloud.mongodb.com", {"https": "http://a:1", "no": "other.com, .mongodb.com"}, None),
    ("https://mongodb.com", {"https": "http://a:1", "no": ".mongodb.com"}, "http://a:1"),  # below only
    ("https://notmongodb.com", {"https": "http://a:1", "no": "mongodb.com"}, "http://a:1"),
    ("https://cloud.mongodb.com", {"https": "http://a:1", "no": "cloud.mongodb.com:443"}, None),
    ("https://cloud.mongodb.com", {"https": "http://a:1", "no": "cloud.mongodb.com:8443"}, "http://a:1"),
    ("https://cloud.mongodb.com", {"https": "http://a:1", "no": "http://cloud.mongodb.com"}, "http://a:1"),
    ("http://127.0.0.1:8080", {"http": "http://a:1", "no": "127.0.0.1"}, None),
    ("http://localhost:8080", {"http": "http://a:1", "no": "localhost"}, None),
])
def test_the_proxy_comes_from_the_environment_as_httpx_reads_it(url: str, proxies: dict[str, str],
                                                                expected: str | None) -> None:
    assert environment_proxy(httpx.URL(url), proxies) == expected


class _Proxy(http.server.ThreadingHTTPServer):
    """A forward proxy that answers every request itself, keeping each request line (a proxied one names the whole
    URL)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                proxy.lines.append(self.requestline)
                body = b'{"id": "org", "name": "Acme"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/vnd.atlas.2023-01-01+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return None

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


def test_calls_go_through_the_environments_proxy_unless_no_proxy_names_atlas(world: World,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # given a proxy named by HTTP_PROXY, and an Atlas reachable only through it
    proxy = _Proxy()
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    client = world.client(base_url="http://atlas.invalid", transport=None, max_retries=0)
    # when the client calls, then the call went to the proxy, asking for Atlas's whole URL
    assert client.call("getOrg", path_params={"orgId": "org"})["name"] == "Acme"
    assert proxy.lines == ["GET http://atlas.invalid/api/atlas/v2/orgs/org HTTP/1.1"]
    # and with NO_PROXY naming Atlas's host, a new client goes straight there (which does not resolve)
    monkeypatch.setenv("NO_PROXY", "atlas.invalid")
    direct = world.client(base_url="http://atlas.invalid", transport=None, max_retries=0)
    with pytest.raises(AtlasTransportError):
        direct.call("getOrg", path_params={"orgId": "org"})
    assert len(proxy.lines) == 1
    proxy.shutdown()

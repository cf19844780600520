"""The Okta sandbox answers as Okta's spec says: SSWS tokens and service apps (a private_key_jwt checked against the
app's key, scopes per app), `search=profile.name eq "…"`, `after`/`limit` cursors in `Link` headers, Okta's error
objects (their bodies checked against the spec's schemas) and `X-Rate-Limit-*` headers, a 429's reset included."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from access.connections import OktaConnection
from access.errors import GatewayUnauthorized
from bot.clock import ManualClock
from okta.client import OktaClient
from okta.sandbox import OktaSandbox, OktaTransport
from tests.support.vendor_spec import load_vendor_spec

BASE = "https://acme.okta.com"


@pytest.fixture
def world() -> tuple[OktaSandbox, httpx.Client, ManualClock]:
    clock = ManualClock()
    sandbox = OktaSandbox(clock=clock)
    token = sandbox.add_api_token()
    group = sandbox.add_group("DBA Team")
    for index in range(5):
        sandbox.add_member(group, sandbox.add_user(f"p{index}@example.com"))
    client = httpx.Client(transport=OktaTransport(sandbox), base_url=BASE,
                          headers={"Authorization": f"SSWS {token}", "Accept": "application/json"})
    return sandbox, client, clock


def _error(response: httpx.Response, operation: str) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    assert load_vendor_spec("okta").error_body_problems(operation, response.status_code, body) == []
    assert body["errorCode"].startswith("E0000") and body["errorSummary"]
    return body


def test_members_come_in_pages_linked_by_the_next_cursor(world: tuple[OktaSandbox, httpx.Client, ManualClock]
                                                         ) -> None:
    _, client, _ = world
    groups = client.get("/api/v1/groups", params={"search": 'profile.name eq "DBA Team"'}).json()
    assert [g["profile"]["name"] for g in groups] == ["DBA Team"]
    url: str | None = f"/api/v1/groups/{groups[0]['id']}/users?limit=2"
    seen = []
    while url:
        response = client.get(url)
        assert int(response.headers["x-rate-limit-remaining"]) >= 0 and response.headers["x-rate-limit-reset"]
        seen += [user["profile"]["email"] for user in response.json()]
        following = [part for part in response.headers["link"].split(",") if 'rel="next"' in part]
        url = following[0].split(";")[0].strip().strip("<>").removeprefix(BASE) if following else None
    assert seen == [f"p{index}@example.com" for index in range(5)]


@pytest.mark.vendor_nonconforming  # the unauthenticated and unknown-path requests break the spec on purpose
@pytest.mark.parametrize(("headers", "path", "status", "code"), [
    ({"Authorization": ""}, "/api/v1/groups", 401, "E0000011"),
    ({"Authorization": "SSWS 00nope"}, "/api/v1/groups", 401, "E0000011"),
    ({}, "/api/v1/groups/00gnosuch/users", 404, "E0000007"),
])
def test_refusals_are_okta_error_objects(world: tuple[OktaSandbox, httpx.Client, ManualClock], headers: dict[str, str],
                                         path: str, status: int, code: str) -> None:
    _, client, _ = world
    response = client.get(path, headers=headers)
    assert response.status_code == status
    operation = "listGroupUsers" if path.endswith("/users") else "listGroups"
    if status in (403, 404, 429):  # the statuses the spec lists for these operations
        _error(response, operation)
    assert response.json()["errorCode"] == code


def test_a_token_without_access_is_forbidden(world: tuple[OktaSandbox, httpx.Client, ManualClock]) -> None:
    sandbox, client, _ = world
    weak = sandbox.add_api_token(can_read=False)
    response = client.get("/api/v1/groups", headers={"Authorization": f"SSWS {weak}"})
    assert response.status_code == 403 and _error(response, "listGroups")["errorCode"] == "E0000006"


def test_a_429_says_when_the_limit_resets(world: tuple[OktaSandbox, httpx.Client, ManualClock]) -> None:
    sandbox, client, clock = world
    sandbox.fail_next(status=429, reset_in=42, operation_id="listGroups")
    response = client.get("/api/v1/groups", params={"q": "DBA"})
    assert response.status_code == 429 and response.headers["x-rate-limit-remaining"] == "0"
    assert int(response.headers["x-rate-limit-reset"]) == int(clock.now().timestamp()) + 42
    assert _error(response, "listGroups")["errorCode"] == "E0000047"


def test_a_service_app_gets_a_token_with_a_signed_assertion_and_only_its_scopes() -> None:
    clock = ManualClock()
    sandbox = OktaSandbox(clock=clock)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    sandbox.add_group("DBA Team")

    def client(client_id: str, private_key: str) -> OktaClient:
        return OktaClient(connection=OktaConnection.model_validate({"org_url": BASE, "credentials": {
            "type": "service_app", "client_id": client_id, "private_key": private_key}}), clock=clock,
            transport=OktaTransport(sandbox))

    good = sandbox.add_service_app(key.public_key())
    assert client(good, pem).get("listGroups", "/api/v1/groups")[0][0]["profile"]["name"] == "DBA Team"
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    with pytest.raises(GatewayUnauthorized):  # signed with a key that is not the app's
        client(good, other).get("listGroups", "/api/v1/groups")
    narrow = sandbox.add_service_app(key.public_key(), scopes=("okta.users.read",))
    with pytest.raises(GatewayUnauthorized):  # asks for okta.groups.read, which the app was not granted
        client(narrow, pem).get("listGroups", "/api/v1/groups")
    assert sandbox.count("oauthToken") == 3


def test_the_checker_reports_what_the_okta_spec_does_not_allow() -> None:
    spec = load_vendor_spec("okta")
    base = {"method": "GET", "path": "/api/v1/groups", "headers": {"authorization": "SSWS"},
            "operation_id": "listGroups", "status": 200}
    assert spec.check({**base, "query": [["search", 'profile.name eq "x"'], ["limit", "10"]]}) == []
    assert "not defined" in spec.check({**base, "query": [["name", "x"]]})[0]
    assert "Authorization" in spec.check({**base, "query": [], "headers": {"authorization": "Token"}})[0]
    assert spec.check({"method": "POST", "path": "/oauth2/v1/token", "headers": {}, "query": []}) == []

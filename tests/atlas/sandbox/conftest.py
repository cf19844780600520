"""Fixtures for the sandbox's own tests: an organization with an API key and a service account, raw httpx callers."""

from __future__ import annotations

import json as jsonlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from atlas.operations import op
from atlas.sandbox import Sandbox, SandboxTransport

BASE_URL = "https://cloud.mongodb.com"


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.moment = start or datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


class Api:
    """Raw httpx calls by operation id: the operation's version in Accept (and Content-Type with a body)."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def call(self, operation_id: str, *, json: Any = None, params: dict[str, Any] | None = None,
             version: str | None = None, headers: dict[str, str | None] | None = None, **path: str) -> httpx.Response:
        operation = op(operation_id)
        media = f"application/vnd.atlas.{version or operation.version}+json"
        sent: dict[str, str | None] = {"Accept": media}
        content = None
        if json is not None:
            sent["Content-Type"] = media
            content = jsonlib.dumps(json).encode()
        sent.update(headers or {})
        url = operation.url(**{name: quote(value, safe="") for name, value in path.items()})
        return self.http.request(operation.method, url, params=params, content=content,
                                 headers={k: v for k, v in sent.items() if v is not None})


@dataclass
class Acme:
    sandbox: Sandbox
    clock: FakeClock
    org_id: str
    public_key: str
    private_key: str
    client_id: str
    secret: str
    clients: list[httpx.Client] = field(default_factory=list)

    def http(self, *, auth: httpx.Auth | None = None, base_url: str = BASE_URL,
             transport: httpx.BaseTransport | None = None) -> httpx.Client:
        client = httpx.Client(transport=transport or SandboxTransport(self.sandbox), base_url=base_url, auth=auth)
        self.clients.append(client)
        return client

    def digest(self, public_key: str | None = None, private_key: str | None = None, **options: Any) -> Api:
        auth = httpx.DigestAuth(public_key or self.public_key, private_key or self.private_key)
        return Api(self.http(auth=auth, **options))

    def token(self, client_id: str | None = None, secret: str | None = None) -> str:
        response = self.http().post("/api/oauth/token", data={"grant_type": "client_credentials"},
                                    auth=httpx.BasicAuth(client_id or self.client_id, secret or self.secret))
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def bearer(self, token: str | None = None) -> Api:
        client = self.http()
        client.headers["Authorization"] = f"Bearer {token or self.token()}"
        return Api(client)

    def anonymous(self) -> Api:
        return Api(self.http())


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def acme(clock: FakeClock) -> Iterator[Acme]:
    sandbox = Sandbox(clock=clock)
    org_id = sandbox.add_org(name="Acme")
    public, private = sandbox.add_api_key(org_id=org_id, roles=["ORG_OWNER"])
    client_id, secret = sandbox.add_service_account(org_id=org_id, roles=["ORG_OWNER"])
    built = Acme(sandbox=sandbox, clock=clock, org_id=org_id, public_key=public, private_key=private,
                 client_id=client_id, secret=secret)
    yield built
    for client in built.clients:
        client.close()


def assert_atlas_error(response: httpx.Response, status: int, error_code: str | None = None) -> dict[str, Any]:
    """The answer is an Atlas error body: {detail, error, errorCode, parameters, reason}, with this status."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"detail", "error", "errorCode", "parameters", "reason"}, body
    assert body["error"] == status and body["parameters"] == [] and body["reason"] == response.reason_phrase
    assert isinstance(body["detail"], str) and body["detail"]
    if error_code is not None:
        assert body["errorCode"] == error_code, body
    return dict(body)

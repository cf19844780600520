"""Helpers for the client and gateway tests: a sandbox organization, a clock we move, sleeps we record."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from atlas.client import AtlasClient
from atlas.credentials import ApiKey, Credentials, ServiceAccount
from atlas.gateway import AtlasGateway
from atlas.sandbox import Sandbox, SandboxTransport


class FakeClock:
    def __init__(self) -> None:
        self.moment = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


@dataclass
class Sleeps:
    """The client's injected sleep: records what it was asked to wait and returns at once."""

    waits: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@dataclass
class World:
    sandbox: Any
    clock: FakeClock
    sleeps: Sleeps
    org_id: str
    api_key: ApiKey
    service_account: ServiceAccount
    clients: list[AtlasClient] = field(default_factory=list)

    def client(self, credentials: Credentials | None = None, **options: Any) -> AtlasClient:
        options.setdefault("transport", SandboxTransport(self.sandbox))
        options.setdefault("clock", self.clock)
        options.setdefault("sleep", self.sleeps)
        client = AtlasClient(credentials=credentials or self.api_key, **options)
        self.clients.append(client)
        return client

    def answered(self, operation_id: str | None = None) -> list[Any]:
        """The sandbox's recorded requests, less Digest challenges (the 401 that opens each API-key session)."""
        return [c for c in self.sandbox.calls
                if c.status != 401 and (operation_id is None or c.operation_id == operation_id)]

    def count(self, operation_id: str) -> int:
        return len(self.answered(operation_id))

    def gateway(self, **options: Any) -> AtlasGateway:
        return AtlasGateway(self.client(), **options)


def new_world() -> World:
    clock = FakeClock()
    sandbox = Sandbox(clock=clock)
    org_id = sandbox.add_org(name="Acme")
    public, private = sandbox.add_api_key(org_id=org_id, roles=["ORG_OWNER"])
    client_id, secret = sandbox.add_service_account(org_id=org_id, roles=["ORG_OWNER"])
    return World(sandbox=sandbox, clock=clock, sleeps=Sleeps(), org_id=org_id,
                 api_key=ApiKey(public_key=public, private_key=private),
                 service_account=ServiceAccount(client_id=client_id, client_secret=secret))

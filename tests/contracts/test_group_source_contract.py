"""The GroupSource contract, run on FakeOkta and on OktaGroups over the Okta sandbox (cache time zero): what approver
resolution relies on — a group's members' emails by its exact name, None for no such group, deprovisioned people
left out, every page read, and failures as GatewayError."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import pytest

from access.connections import OktaConnection
from access.errors import GatewayRateLimited, GatewayUnauthorized, GatewayUnreachable
from access.ports import GroupSource
from okta.groups import OktaGroups
from okta.sandbox import OktaSandbox, OktaTransport
from tests.fakes import FakeOkta, ManualClock


class OktaWorld(Protocol):
    source: GroupSource
    token: str

    def group(self, name: str, emails: Sequence[str] = ()) -> None: ...
    def join(self, group: str, email: str, *, status: str = "ACTIVE") -> None: ...
    def leave(self, group: str, email: str) -> None: ...
    def trouble(self, on: bool) -> None: ...
    def rate_limit(self) -> None: ...


class FakeWorld:
    def __init__(self) -> None:
        self.token = "00fake-okta-token"
        self.fake = FakeOkta(tokens={self.token})
        self.source: GroupSource = self.fake

    def group(self, name: str, emails: Sequence[str] = ()) -> None:
        self.fake.add_group(name, emails)

    def join(self, group: str, email: str, *, status: str = "ACTIVE") -> None:
        self.fake.add_member(group, email, status=status)

    def leave(self, group: str, email: str) -> None:
        self.fake.remove_member(group, email)

    def trouble(self, on: bool) -> None:
        self.fake.trouble = on

    def rate_limit(self) -> None:
        self.fake.rate_limited = True


class SandboxWorld:
    def __init__(self) -> None:
        self.clock = ManualClock()
        self.sandbox = OktaSandbox(clock=self.clock)
        self.token = self.sandbox.add_api_token()
        self.source: GroupSource = OktaGroups(clock=self.clock, ttl_seconds=0,
                                              transport=lambda: OktaTransport(self.sandbox))
        self._groups: dict[str, str] = {}
        self._users: dict[str, str] = {}

    def group(self, name: str, emails: Sequence[str] = ()) -> None:
        self._groups[name] = self.sandbox.add_group(name)
        for email in emails:
            self.join(name, email)

    def join(self, group: str, email: str, *, status: str = "ACTIVE") -> None:
        user = self.sandbox.add_user(email, status=status)
        self._users[email] = user
        self.sandbox.add_member(self._groups[group], user)

    def leave(self, group: str, email: str) -> None:
        self.sandbox.remove_member(self._groups[group], self._users[email])

    def trouble(self, on: bool) -> None:
        self.sandbox.down = on

    def rate_limit(self) -> None:
        self.sandbox.fail_next(status=429, reset_in=30)


@pytest.fixture(params=["fake", "real"])
def okta_world(request: pytest.FixtureRequest) -> OktaWorld:
    return FakeWorld() if request.param == "fake" else SandboxWorld()


def connection(token: str) -> OktaConnection:
    return OktaConnection.model_validate({"org_url": "https://acme.okta.com",
                                          "credentials": {"type": "api_token", "token": token}})


def test_a_groups_members_by_its_exact_name(okta_world: OktaWorld) -> None:
    okta_world.group("DBA Team", ["bob@example.com", "Cyd@Example.com"])
    okta_world.group("DBA Team (old)", ["eve@example.com"])
    okta_world.join("DBA Team", "gone@example.com", status="DEPROVISIONED")
    okta_world.join("DBA Team", "off@example.com", status="SUSPENDED")
    ask = okta_world.source.member_emails
    assert ask(connection=connection(okta_world.token), group="DBA Team") == {"bob@example.com", "Cyd@Example.com"}
    assert ask(connection=connection(okta_world.token), group="dba team") is None
    assert ask(connection=connection(okta_world.token), group='Say "hi"') is None
    okta_world.group('Say "hi"')
    assert ask(connection=connection(okta_world.token), group='Say "hi"') == frozenset()


def test_a_change_counts_at_once_and_every_page_is_read(okta_world: OktaWorld) -> None:
    okta_world.group("Everyone", [f"p{index}@example.com" for index in range(450)])
    ask = okta_world.source.member_emails
    assert len(ask(connection=connection(okta_world.token), group="Everyone") or ()) == 450
    okta_world.leave("Everyone", "p7@example.com")
    found = ask(connection=connection(okta_world.token), group="Everyone") or frozenset()
    assert len(found) == 449 and "p7@example.com" not in found


def test_failures_are_gateway_errors(okta_world: OktaWorld) -> None:
    okta_world.group("DBA Team", ["bob@example.com"])
    with pytest.raises(GatewayUnauthorized):
        okta_world.source.member_emails(connection=connection("00wrong"), group="DBA Team")
    okta_world.trouble(True)
    with pytest.raises(GatewayUnreachable):
        okta_world.source.member_emails(connection=connection(okta_world.token), group="DBA Team")
    okta_world.trouble(False)
    okta_world.rate_limit()
    with pytest.raises(GatewayRateLimited) as limited:
        okta_world.source.member_emails(connection=connection(okta_world.token), group="DBA Team")
    assert limited.value.retry_after == 30


def test_test_connection_counts_each_group(okta_world: OktaWorld) -> None:
    okta_world.group("DBA Team", ["bob@example.com", "cyd@example.com"])
    found = okta_world.source.check_groups(connection=connection(okta_world.token), groups=["DBA Team", "Ghosts"])
    assert found == {"DBA Team": 2, "Ghosts": None}
    with pytest.raises(GatewayUnauthorized):
        okta_world.source.check_groups(connection=connection("00wrong"), groups=[])

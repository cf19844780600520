"""OktaGroups over the sandbox, beyond the port's contract: a group of 5,000 read in pages, answers kept for at most a
minute, and after a 429 no call to that Okta before its `X-Rate-Limit-Reset`."""

from __future__ import annotations

from datetime import timedelta

import pytest

from access.connections import OktaConnection
from access.errors import GatewayRateLimited
from bot.clock import ManualClock
from okta.groups import OktaGroups
from okta.sandbox import OktaSandbox, OktaTransport


@pytest.fixture
def world() -> tuple[OktaSandbox, OktaGroups, OktaConnection, ManualClock]:
    clock = ManualClock()
    sandbox = OktaSandbox(clock=clock)
    connection = OktaConnection.model_validate({"org_url": "https://acme.okta.com", "credentials": {
        "type": "api_token", "token": sandbox.add_api_token()}})
    group = sandbox.add_group("Everyone")
    for index in range(5000):
        sandbox.add_member(group, sandbox.add_user(f"p{index}@example.com"))
    return sandbox, OktaGroups(clock=clock, transport=lambda: OktaTransport(sandbox)), connection, clock


def test_five_thousand_members_come_in_pages_and_are_kept_a_minute(
        world: tuple[OktaSandbox, OktaGroups, OktaConnection, ManualClock]) -> None:
    sandbox, groups, connection, clock = world
    assert len(groups.member_emails(connection=connection, group="Everyone") or ()) == 5000
    assert sandbox.count("listGroupUsers") == 25  # 200 a page
    clock.advance(timedelta(seconds=59))
    groups.member_emails(connection=connection, group="Everyone")
    assert sandbox.count("listGroupUsers") == 25
    clock.advance(timedelta(seconds=1))
    groups.member_emails(connection=connection, group="Everyone")
    assert sandbox.count("listGroupUsers") == 50


def test_after_a_429_okta_is_not_called_before_its_reset(
        world: tuple[OktaSandbox, OktaGroups, OktaConnection, ManualClock]) -> None:
    sandbox, groups, connection, clock = world
    sandbox.fail_next(status=429, reset_in=30, operation_id="listGroups")
    with pytest.raises(GatewayRateLimited) as limited:
        groups.member_emails(connection=connection, group="Everyone")
    assert limited.value.retry_after == 30
    calls = len(sandbox.calls)
    clock.advance(timedelta(seconds=20))
    with pytest.raises(GatewayRateLimited, match="has not reset yet"):
        groups.member_emails(connection=connection, group="Everyone")
    assert len(sandbox.calls) == calls  # Okta was left alone
    clock.advance(timedelta(seconds=10))
    assert len(groups.member_emails(connection=connection, group="Everyone") or ()) == 5000

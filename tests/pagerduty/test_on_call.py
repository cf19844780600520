"""PagerDutyOnCall over the sandbox, beyond the port's contract: answers kept for at most a minute, failures never
kept, a 429 carried with PagerDuty's reset, the key in no error text, and every request as the spec describes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from access.config import IntegrationSpec
from access.errors import GatewayRateLimited, GatewayUnreachable
from bot.clock import ManualClock
from pagerduty.on_call import PagerDutyOnCall
from pagerduty.sandbox import PagerDutySandbox, PagerDutyTransport

H = timedelta(hours=1)


@pytest.fixture
def world() -> tuple[PagerDutySandbox, PagerDutyOnCall, IntegrationSpec, ManualClock]:
    clock = ManualClock()
    sandbox = PagerDutySandbox(clock=clock)
    key = sandbox.add_api_key()
    sandbox.add_user("PANN", name="Ann", email="ann@example.com")
    sandbox.add_schedule("PPRIMARY", name="Primary", shifts=[("PANN", clock.now() - H, clock.now() + H)])
    spec = IntegrationSpec.model_validate({
        "name": "prod", "organization_id": "5f1a2b3c4d5e6f7a8b9c0d1e", "approval_channel": "C0APPROVALS",
        "credentials": {"type": "api_key", "public_key": "pub", "private_key": "priv"}, "pagerduty": {"api_key": key}})
    return sandbox, PagerDutyOnCall(clock=clock, transport=lambda: PagerDutyTransport(sandbox)), spec, clock


def test_an_answer_is_kept_for_at_most_a_minute(world: tuple[PagerDutySandbox, PagerDutyOnCall, IntegrationSpec,
                                                             ManualClock]) -> None:
    sandbox, adapter, spec, clock = world
    assert len(adapter.shifts(integration=spec, schedules=["PPRIMARY"])) == 1
    sandbox.set_shifts("PPRIMARY", [])
    clock.advance(timedelta(seconds=59))
    assert len(adapter.shifts(integration=spec, schedules=["PPRIMARY"])) == 1  # kept
    clock.advance(timedelta(seconds=1))
    assert adapter.shifts(integration=spec, schedules=["PPRIMARY"]) == ()  # asked again
    assert sandbox.count("listOnCalls") == 2


def test_failures_are_not_kept_and_a_429_carries_its_reset(world: tuple[PagerDutySandbox, PagerDutyOnCall,
                                                                        IntegrationSpec, ManualClock]) -> None:
    sandbox, adapter, spec, _ = world
    sandbox.fail_next(status=429, reset=7)
    with pytest.raises(GatewayRateLimited) as limited:
        adapter.shifts(integration=spec, schedules=["PPRIMARY"])
    assert limited.value.retry_after == 7 and "u+" not in str(limited.value)
    sandbox.fail_next(status=503)
    with pytest.raises(GatewayUnreachable):
        adapter.shifts(integration=spec, schedules=["PPRIMARY"])
    assert len(adapter.shifts(integration=spec, schedules=["PPRIMARY"])) == 1


def test_a_key_from_an_environment_variable_that_is_not_set_is_named(
        world: tuple[PagerDutySandbox, PagerDutyOnCall, IntegrationSpec, ManualClock]) -> None:
    _, adapter, spec, _ = world
    from_env = spec.model_copy(update={"pagerduty": spec.pagerduty.model_copy(  # type: ignore[union-attr]
        update={"api_key": None, "api_key_env": "NO_SUCH_PAGERDUTY_KEY"})})
    with pytest.raises(Exception, match="environment variable NO_SUCH_PAGERDUTY_KEY"):
        adapter.shifts(integration=from_env, schedules=["PPRIMARY"])

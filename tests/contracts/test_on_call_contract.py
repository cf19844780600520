"""The OnCall and OnCallCheck contract, run on FakeOnCall and on PagerDutyOnCall over the PagerDuty sandbox: what
on-call auto-approval relies on (who is on call now, with which email and shift; failures as GatewayError)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from access.errors import GatewayUnauthorized, GatewayUnreachable
from tests.contracts.world_on_call import FakeOnCallWorld, OnCallWorld, SandboxOnCallWorld

H = timedelta(hours=1)


@pytest.fixture(params=["fake", "real"])
def on_call_world(request: pytest.FixtureRequest) -> OnCallWorld:
    world: OnCallWorld = FakeOnCallWorld() if request.param == "fake" else SandboxOnCallWorld()
    world.add_schedule("PPRIMARY", "Primary")
    world.add_schedule("PSECOND", "Secondary")
    return world


def test_everyone_on_call_now_in_the_schedules_asked(on_call_world: OnCallWorld) -> None:
    now = on_call_world.clock.now()
    on_call_world.put_on_call("PPRIMARY", email="ann@example.com", start=now - H, end=now + 2 * H)
    on_call_world.put_on_call("PPRIMARY", email="bob@example.com", start=now + H, end=now + 5 * H)  # not yet
    on_call_world.put_on_call("PSECOND", email="Cyd@Example.com", start=None, end=None)  # permanent
    shifts = on_call_world.port.shifts(integration=on_call_world.integration(), schedules=["PPRIMARY", "PSECOND"])
    found = sorted((s.schedule_id, s.schedule_name, s.email, s.start, s.end) for s in shifts)
    assert found == [("PPRIMARY", "Primary", "ann@example.com", now - H, now + 2 * H),
                     ("PSECOND", "Secondary", "Cyd@Example.com", None, None)]
    only = on_call_world.port.shifts(integration=on_call_world.integration(), schedules=["PSECOND"])
    assert [s.schedule_id for s in only] == ["PSECOND"]


def test_a_shift_is_on_call_from_its_start_until_just_before_its_end(on_call_world: OnCallWorld) -> None:
    now = on_call_world.clock.now()
    on_call_world.put_on_call("PPRIMARY", email="ann@example.com", start=now, end=now + H)
    ask = lambda: on_call_world.port.shifts(integration=on_call_world.integration(), schedules=["PPRIMARY"])  # noqa: E731
    assert len(ask()) == 1
    on_call_world.clock.advance(H)
    assert ask() == ()


def test_a_schedule_nobody_knows_has_nobody_on_call(on_call_world: OnCallWorld) -> None:
    assert on_call_world.port.shifts(integration=on_call_world.integration(), schedules=["PNOSUCH"]) == ()


def test_many_people_on_call_come_back_across_pages(on_call_world: OnCallWorld) -> None:
    now = on_call_world.clock.now()
    for index in range(230):
        on_call_world.put_on_call("PPRIMARY", email=f"p{index}@example.com", start=now - H, end=now + H)
    shifts = on_call_world.port.shifts(integration=on_call_world.integration(), schedules=["PPRIMARY"])
    assert len({s.email for s in shifts}) == 230


def test_a_refused_key_and_no_answer_are_gateway_errors(on_call_world: OnCallWorld) -> None:
    with pytest.raises(GatewayUnauthorized):
        on_call_world.port.shifts(integration=on_call_world.integration("u+wrong"), schedules=["PPRIMARY"])
    on_call_world.trouble(True)
    with pytest.raises(GatewayUnreachable):
        on_call_world.port.shifts(integration=on_call_world.integration(), schedules=["PPRIMARY"])
    on_call_world.trouble(False)
    assert on_call_world.port.shifts(integration=on_call_world.integration(), schedules=["PPRIMARY"]) == ()


def test_test_connection_names_each_schedule_or_its_absence(on_call_world: OnCallWorld) -> None:
    connection = on_call_world.integration().pagerduty
    assert connection is not None
    result = on_call_world.port.check_on_call(connection=connection, schedules=["PPRIMARY", "PNOSUCH", "PPRIMARY"])
    assert [(s.id, s.name) for s in result.schedules] == [("PPRIMARY", "Primary"), ("PNOSUCH", None)]
    assert not result.ok
    wrong = on_call_world.integration("u+wrong").pagerduty
    assert wrong is not None
    with pytest.raises(GatewayUnauthorized):
        on_call_world.port.check_on_call(connection=wrong, schedules=[])

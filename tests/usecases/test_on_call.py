"""On-call auto-approval (access.on_call through AccessService.submit and form), table by table.

Given the flow prod-projects approves whoever is on call in PagerDuty schedules PPRIMARY or PSECOND for at most 4h
(its own limit 8h), when ann asks, then she is approved at once for what the rule allows if she is on call now, and
otherwise (not on call, or PagerDuty cannot say) her request waits for the owners, and says why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from access.model import GrantStatus, OnCallOutcome, RequestStatus
from tests.usecases.world import ANN, BOB, CYD, DAN, PAGERDUTY_KEY, PAYMENTS, READ, World, flow, integration

H = timedelta(hours=1)
RULE = {"provider": "pagerduty", "schedules": ["PPRIMARY", "PSECOND"], "max_duration": "4h"}


def on_call_world(*, rule: dict[str, Any] | None = None, key: str = PAGERDUTY_KEY, **flow_changes: Any) -> World:
    world = World(spec=integration(pagerduty={"api_key": key}),
                  flows=[flow(auto_approve={"on_call": rule or RULE}, **flow_changes)])
    world.on_call.add_schedule("PPRIMARY", "Primary").add_schedule("PSECOND", "Secondary")
    return world


@dataclass(frozen=True)
class Case:
    name: str
    shifts: list[tuple[str, str, timedelta | None, timedelta | None]]  # schedule, email, start, end (from now)
    asked: timedelta = 2 * H
    rule: dict[str, Any] = field(default_factory=lambda: RULE)
    outcome: OnCallOutcome = OnCallOutcome.ON_CALL
    granted: timedelta | None = 2 * H  # None: it waits for the owners
    schedule: str | None = "PPRIMARY"
    note: str | None = None  # part of the outcome note when it gives less than asked


CASES = [
    Case("on call now: what was asked", [("PPRIMARY", ANN.email, -H, 6 * H)]),
    Case("on call in the second schedule", [("PSECOND", ANN.email, -H, 6 * H)], schedule="PSECOND"),
    Case("the email matches whatever its case", [("PPRIMARY", "Ann@Example.COM", -H, 6 * H)]),
    Case("more than the rule's 4h: 4h", [("PPRIMARY", ANN.email, -H, 9 * H)], asked=8 * H, granted=4 * H,
         note="instead of 8 hours"),
    Case("the shift ends sooner: its end", [("PPRIMARY", ANN.email, -H, H)], asked=3 * H, granted=H,
         note="the shift ends sooner"),
    Case("the shift's end plus the flow's margin", [("PPRIMARY", ANN.email, -H, H)], asked=3 * H,
         rule={**RULE, "past_shift_end": "30m"}, granted=H + timedelta(minutes=30)),
    Case("a permanent on-call: the rule's limit only", [("PPRIMARY", ANN.email, None, None)], asked=3 * H,
         granted=3 * H),
    Case("two shifts: the one ending last", [("PPRIMARY", ANN.email, -H, H), ("PSECOND", ANN.email, -H, 3 * H)],
         asked=3 * H, granted=3 * H, schedule="PSECOND"),
    Case("someone else is on call", [("PPRIMARY", "bob@example.com", -H, 6 * H)],
         outcome=OnCallOutcome.NOT_ON_CALL, granted=None, schedule=None),
    Case("on call under an address Slack does not know", [("PPRIMARY", "ann@corp.example", -H, 6 * H)],
         outcome=OnCallOutcome.NOT_ON_CALL, granted=None, schedule=None),
    Case("the shift is over", [("PPRIMARY", ANN.email, -3 * H, -H)], outcome=OnCallOutcome.NOT_ON_CALL,
         granted=None, schedule=None),
    Case("the shift has not begun", [("PPRIMARY", ANN.email, H, 3 * H)], outcome=OnCallOutcome.NOT_ON_CALL,
         granted=None, schedule=None),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_who_is_on_call_now_is_approved_at_once_within_the_rule(case: Case) -> None:
    # given the shifts of the case
    world = on_call_world(rule=case.rule)
    now = world.clock.now()
    for schedule, email, start, end in case.shifts:
        world.on_call.put_on_call(schedule, email=email, start=now + start if start is not None else None,
                                  end=now + end if end is not None else None)
    # when ann asks
    request = world.submit(duration=case.asked)
    # then the request says what the check found, and is approved at once only when she is on call
    assert request.on_call is not None and request.on_call.outcome is case.outcome
    assert request.on_call.schedule_id == case.schedule
    assert request.approvers == (BOB, CYD)  # the owners are told, and named, either way
    if case.granted is None:
        assert request.status is RequestStatus.PENDING and world.actions() == ["requested"]
        return
    assert request.status is RequestStatus.APPROVED and request.decided_by == "auto"
    assert request.duration_seconds == case.granted.total_seconds()
    assert (case.note or "") in (request.outcome_note or "")
    [event] = world.audit("auto_approved_on_call")
    assert event.actor == "auto" and event.detail["schedule"] == case.schedule
    assert event.detail["duration_seconds"] == case.granted.total_seconds()
    grant = world.grant_of(request.id or 0)
    assert grant.status is GrantStatus.ACTIVE and grant.expires_at == now + case.granted
    assert READ in world.roles()


@pytest.mark.parametrize(("name", "trouble", "key", "schedules", "problem"), [
    ("PagerDuty does not answer", True, PAGERDUTY_KEY, ["PPRIMARY"], "PagerDuty could not be reached"),
    ("the API key is refused", False, "u+not-a-key", ["PPRIMARY"], "PagerDuty refused the API key"),
])
def test_nothing_is_approved_when_pagerduty_cannot_say(name: str, trouble: bool, key: str, schedules: list[str],
                                                      problem: str) -> None:
    # given ann is on call, but PagerDuty cannot say so
    world = on_call_world(rule={**RULE, "schedules": schedules}, key=key)
    world.on_call.put_on_call("PPRIMARY", email=ANN.email, start=world.clock.now() - H, end=None)
    world.on_call.trouble = trouble
    # when she asks
    request = world.submit()
    # then it waits for the owners, saying why on-call approval did not apply
    assert request.status is RequestStatus.PENDING and world.grants() == []
    assert request.on_call is not None and request.on_call.outcome is OnCallOutcome.UNAVAILABLE
    assert problem in (request.on_call.problem or "")
    assert world.audit("auto_approved_on_call") == []


def test_a_schedule_that_does_not_exist_has_nobody_on_call_and_test_connection_names_it() -> None:
    world = on_call_world(rule={**RULE, "schedules": ["PNOSUCH"]})
    request = world.submit()
    assert request.status is RequestStatus.PENDING
    assert request.on_call is not None and request.on_call.outcome is OnCallOutcome.NOT_ON_CALL
    spec = world.integration_spec()
    assert spec.pagerduty is not None
    result = world.on_call.check_on_call(connection=spec.pagerduty, schedules=["PPRIMARY", "PNOSUCH"])
    assert not result.ok and [s.name for s in result.schedules] == ["Primary", None]


def test_a_shift_that_ends_while_the_grant_is_live_leaves_the_grant_its_approved_end() -> None:
    # given ann on call for one more hour, approved for 2h (the flow allows an hour past the shift)
    world = on_call_world(rule={**RULE, "past_shift_end": "1h"})
    start = world.clock.now()
    world.on_call.put_on_call("PPRIMARY", email=ANN.email, start=start - H, end=start + H)
    request = world.submit(duration=3 * H)
    grant = world.grant_of(request.id or 0)
    assert grant.expires_at == start + 2 * H
    # when her shift ends, the grant is still live; at its approved end it is revoked
    world.expire(90 * timedelta(minutes=1))
    assert world.grant_of(request.id or 0).status is GrantStatus.ACTIVE and READ in world.roles()
    world.expire(31 * timedelta(minutes=1))
    assert world.grant_of(request.id or 0).status is GrantStatus.REVOKED and READ not in world.roles()


def test_an_on_call_approval_needs_no_owner_but_whoever_is_not_on_call_does() -> None:
    # given a resource with nobody to approve (search has no owner tag; the integration owners are only ann)
    world = on_call_world()
    world.set_integration(integration_owners=[ANN.user_id], resource_owner=None)
    world.on_call.put_on_call("PPRIMARY", email=ANN.email, start=world.clock.now() - H, end=None)
    # when ann, on call, asks: approved; when she is not on call any more, refused for want of an approver
    assert world.submit().status is RequestStatus.APPROVED
    world.on_call.clear("PPRIMARY")
    with pytest.raises(Exception, match="Nobody else can approve"):
        world.submit(roles=("GROUP_DATA_ACCESS_READ_ONLY",))


def test_the_form_says_whether_the_requester_is_on_call_and_for_how_long() -> None:
    world = on_call_world()
    now = world.clock.now()
    form = world.service.form(requester=ANN, integration="prod", resource_id=PAYMENTS)
    assert form.on_call is not None and form.on_call.outcome is OnCallOutcome.NOT_ON_CALL
    world.on_call.put_on_call("PSECOND", email=ANN.email, start=now - H, end=now + 3 * H)
    form = world.service.form(requester=ANN, integration="prod", resource_id=PAYMENTS)
    assert form.on_call is not None and form.on_call.schedule_name == "Secondary" and form.on_call_limit == 3 * H
    world.on_call.trouble = True
    form = world.service.form(requester=ANN, integration="prod", resource_id=PAYMENTS)
    assert form.on_call is not None and form.on_call.outcome is OnCallOutcome.UNAVAILABLE


def test_a_flow_without_the_rule_asks_nobody() -> None:
    world = World()
    assert world.submit().on_call is None and world.on_call.questions == 0
    assert world.service.form(requester=ANN, integration="prod", resource_id=PAYMENTS).on_call is None
    assert DAN not in world.submit(roles=("GROUP_DATA_ACCESS_READ_ONLY",)).approvers

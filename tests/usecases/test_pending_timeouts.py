"""Undecided requests do not rot: the approvers are reminded, then the integration owners asked, then the request
expires, each step once (recorded before anyone is told) and the requester told at each; and active grants remind
their holder once before they end."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from access.model import RequestStatus
from tests.fakes.notifier import Reminded, Told, Updated
from tests.usecases.world import ANN, BOB, World, flow

H = timedelta(hours=1)


@dataclass(frozen=True)
class Age:
    name: str
    age: timedelta
    step: str | None  # the audit action's suffix, or None
    status: RequestStatus = RequestStatus.PENDING
    escalated: bool | None = None  # whether the approvers' reminder went to the owners too; None: no reminder


AGES = [
    Age("under an hour: nothing", H - timedelta(seconds=1), None),
    Age("an hour: the approvers are reminded", H, "reminded", escalated=False),
    Age("four hours: the integration owners are asked", 4 * H, "escalated", escalated=True),
    Age("a day: it expires", 24 * H, "expired", RequestStatus.EXPIRED),
]


@pytest.mark.parametrize("case", AGES, ids=lambda c: c.name)
def test_the_step_due_for_an_undecided_request(world: World, case: Age) -> None:
    # given ann's request, undecided for `age`
    request = world.submit()
    world.notifier.clear()
    world.clock.advance(case.age)
    # when the timers' round runs
    taken = world.timeouts.run()
    # then the one due step is taken, recorded, and told
    stored = world.request(request.id or 0)
    assert taken == (case.step is not None) and stored.status is case.status
    assert world.actions(request.id)[1:] == ([f"pending_{case.step}"] if case.step else [])
    reminders = world.notifier.of(Reminded)
    assert [r.escalated for r in reminders] == ([case.escalated] if case.escalated is not None else [])
    if case.step is not None:
        told = [e.event for e in world.notifier.of(Told)]
        assert told == ["expired" if case.step == "expired" else f"pending_{case.step}"]
        assert [u.request.status for u in world.notifier.of(Updated)] == [case.status]
    assert world.timeouts.run() == 0  # each step once


def test_the_steps_follow_one_another_and_expiry_frees_the_request_to_be_asked_again(world: World) -> None:
    request = world.submit()
    for hours in (1, 3, 20):
        world.clock.advance(hours=hours)
        world.timeouts.run()
    assert world.actions(request.id) == ["requested", "pending_reminded", "pending_escalated", "pending_expired"]
    stored = world.request(request.id or 0)
    assert (stored.status, stored.decided_by, stored.pending_key) == (RequestStatus.EXPIRED, "system", None)
    assert world.submit().id != request.id


def test_an_escalation_without_a_reminder_first_is_not_followed_by_one(world: World) -> None:
    request = world.submit()
    world.clock.advance(hours=5)
    world.timeouts.run()
    world.clock.advance(hours=1)
    assert world.timeouts.run() == 0 and world.actions(request.id)[-1] == "pending_escalated"


@pytest.mark.parametrize("decision", ["approve", "deny", "cancel"])
def test_a_decided_request_is_left_alone(world: World, decision: str) -> None:
    request = world.submit()
    if decision == "approve":
        world.service.approve(request_id=request.id or 0, user_id=BOB)
    elif decision == "deny":
        world.service.deny(request_id=request.id or 0, user_id=BOB, reason="not today")
    else:
        world.service.cancel(request_id=request.id or 0, user_id=ANN.user_id)
    world.clock.advance(days=2)
    assert world.timeouts.run() == 0 and world.notifier.reminders() == []


def test_a_flow_sets_its_own_timeouts() -> None:
    world = World(flows=[flow(pending={"remind_after": "10m", "escalate_after": "20m", "expire_after": "30m"})])
    request = world.submit()
    world.clock.advance(minutes=10)
    world.timeouts.run()
    world.clock.advance(minutes=20)
    world.timeouts.run()
    assert world.request(request.id or 0).status is RequestStatus.EXPIRED


def test_a_request_whose_flow_is_gone_follows_the_defaults(world: World) -> None:
    request = world.submit()
    with world.store.unit_of_work() as uow:
        uow.flows.upsert(flow("other"))
    world.store.committed().flows.pop("prod-projects")
    world.clock.advance(days=1)
    world.timeouts.run()
    assert world.request(request.id or 0).status is RequestStatus.EXPIRED


@pytest.mark.parametrize("raising", [False, True])
def test_slack_failing_does_not_undo_or_repeat_a_step(world: World, raising: bool) -> None:
    request = world.submit()
    world.notifier.raising = raising
    world.notifier.fail()
    world.clock.advance(H)
    assert world.timeouts.run() == 1
    world.notifier.recover()
    assert world.timeouts.run() == 0 and world.request(request.id or 0).reminded_at == world.clock.now()


# --- expiry reminders -------------------------------------------------------------------------------------------


def test_the_holder_is_reminded_once_before_her_grant_ends(world: World) -> None:
    grant = world.approved(duration=2 * H)
    world.clock.advance(minutes=104)
    assert world.reminders.run() == 0  # more than 15 minutes left
    world.clock.advance(minutes=1)
    assert world.reminders.run() == 1 and world.reminders.run() == 0
    [told] = [e for e in world.notifier.dms(ANN.user_id) if e.event == "expiring"]
    assert told.grant is not None and told.grant.id == grant.id
    assert world.grant(grant.id or 0).reminder_sent_at == world.clock.now()
    assert world.audit("expiry_reminded")[0].grant_id == grant.id


def test_a_grant_already_ended_or_not_active_is_not_reminded(world: World) -> None:
    grant = world.approved(duration=H)
    world.selfservice.done(grant_id=grant.id or 0, user_id=ANN.user_id)
    world.clock.advance(minutes=50)
    assert world.reminders.run() == 0


def test_reminders_can_be_turned_off(world: World) -> None:
    world.approved(duration=H)
    world.reminders.lead = timedelta(0)
    world.clock.advance(minutes=59)
    assert world.reminders.run() == 0

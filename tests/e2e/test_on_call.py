"""Stories: whoever is on call in PagerDuty is approved at once (loudly, on the record, revoked at its end); anyone
else, and everyone while PagerDuty cannot answer, goes to the owners as usual, and the modal and message say why.

The world's integration gets a PagerDuty connection (the PagerDuty sandbox, reached through the app's own client)
and payments' flow a rule: whoever is on call in PPRIMARY is approved at once for at most 4h.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from access.config import AccessFlowSpec, IntegrationSpec
from access.model import GrantStatus, OnCallOutcome, RequestStatus
from tests.e2e.harness import ANN, BOB, DATA_READ, EMAILS, READ, Harness, blocks_text, flow_specs, wait

H = timedelta(hours=1)


@pytest.fixture
def pd_world(world: Harness) -> Iterator[Harness]:
    key = world.pagerduty.add_api_key()
    world.vendor_secrets.append(key)
    now = world.clock.now()
    world.pagerduty.add_user("PANN", name="Ann", email=EMAILS[ANN])
    world.pagerduty.add_user("PBOB", name="Bob", email=EMAILS[BOB])
    world.pagerduty.add_schedule("PPRIMARY", name="Payments primary", shifts=[("PANN", now - H, now + 6 * H)])
    with world.runtime.store.unit_of_work() as uow:
        spec = uow.integrations.get("prod")
        assert spec is not None
        uow.integrations.upsert(IntegrationSpec.model_validate(
            {**spec.model_dump(), "pagerduty": {"api_key": key}}))
        base = next(f for f in flow_specs() if f.name == "prod-projects")
        uow.flows.upsert(AccessFlowSpec.model_validate({**base.model_dump(), "auto_approve": {"on_call": {
            "provider": "pagerduty", "schedules": ["PPRIMARY"], "max_duration": "4h"}}}))
    yield world


def modal_text(world: Harness, resource: str) -> str:
    view = world.pick(ANN, world.open_modal(ANN), resource)
    return blocks_text({"blocks": view["blocks"]})


def test_whoever_is_on_call_is_approved_at_once_and_revoked_at_the_end(pd_world: Harness) -> None:
    world = pd_world
    # given ann is on call in "Payments primary": the modal tells her before she submits
    assert "You are on call in *Payments primary* (PPRIMARY)" in modal_text(world, "payments")
    # when she asks for 2 hours of read access
    request = world.request(ANN, "payments", [READ], duration="2h")
    # then it is granted at once, without an approver
    grant = world.wait_grant(request, GrantStatus.ACTIVE)
    assert world.project_roles("payments", ANN) == {READ, DATA_READ}
    stored = world.get(request.id or 0)[0]
    assert stored.status is RequestStatus.APPROVED and stored.decided_by == "auto"
    assert stored.on_call is not None and stored.on_call.schedule_id == "PPRIMARY"
    # and the approval channel is told loudly, naming the schedule and the shift, with the owners mentioned
    text = world.wait_message(request, "On-call access, approved at once")
    assert "*Payments primary* (PPRIMARY)" in text and "shift from" in text and "<!subteam^S1>" in text
    assert any("You are on call in *Payments primary*" in dm for dm in world.dm_texts(ANN))
    # and it is on the record with its schedule and shift
    [event] = world.audit("auto_approved_on_call")
    assert event.detail["schedule"] == "PPRIMARY" and event.detail["shift_end"]
    # when its two hours are over, it is revoked like any grant
    world.expire(2 * H + timedelta(seconds=1))
    assert world.get(request.id or 0)[1].status is GrantStatus.REVOKED  # type: ignore[union-attr]
    assert world.project_roles("payments", ANN) == {DATA_READ}
    assert grant.expires_at is not None
    # and every PagerDuty request the app made carried the query the spec describes
    calls = [c for c in world.pagerduty.calls if c.operation_id == "listOnCalls"]
    assert calls and all(("earliest", "true") in c.query and ("include[]", "users") in c.query
                         and ("schedule_ids[]", "PPRIMARY") in c.query for c in calls)


def test_someone_not_on_call_goes_to_the_owners(pd_world: Harness) -> None:
    world = pd_world
    world.pagerduty.set_shifts("PPRIMARY", [("PBOB", world.clock.now() - H, world.clock.now() + H)])
    assert "you are not on call now" in modal_text(world, "payments")
    request = world.request(ANN, "payments", [READ], duration="1h")
    assert request.status is RequestStatus.PENDING
    assert "Not on call in PPRIMARY" in world.message_text(request)
    assert world.click(BOB, "approve", request).status_code == 200
    world.wait_grant(request, GrantStatus.ACTIVE)
    assert world.audit("auto_approved_on_call") == []


def test_pagerduty_down_goes_to_the_owners_and_says_so(pd_world: Harness) -> None:
    world = pd_world
    world.pagerduty.down = True
    world.clock.advance(2 * 60 * timedelta(seconds=1))  # past the minute an earlier answer may be kept
    assert "PagerDuty could not be reached, so on-call approval is off for now" in modal_text(world, "payments")
    request = world.request(ANN, "payments", [READ], duration="1h")
    stored = world.get(request.id or 0)[0]
    assert stored.status is RequestStatus.PENDING and world.get(request.id or 0)[1] is None
    assert stored.on_call is not None and stored.on_call.outcome is OnCallOutcome.UNAVAILABLE
    wait(lambda: "PagerDuty could not be reached when this was asked" in world.message_text(request))
    assert world.click(BOB, "approve", request).status_code == 200
    world.wait_grant(request, GrantStatus.ACTIVE)

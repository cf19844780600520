"""Approve with changes: an approver may approve for less time than asked ("Approve for…") and say why; a flow may
require a reason with every approval. Given ann's request on payments (owned by bob and cyd) for 4 hours."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from access.config import AccessFlowSpec
from access.errors import AlreadyDecided, FieldErrors, NotAllowed
from access.model import GrantStatus, RequestStatus
from tests.usecases.world import ANN, BOB, CYD, EVE, World, flow

ASKED = timedelta(hours=4)
H = timedelta(hours=1)


@pytest.mark.parametrize(("given", "reason", "granted", "note"), [
    (None, "", ASKED, None),                                    # plain Approve: what was asked
    (ASKED, "", ASKED, None),                                   # all of it, through the modal
    (2 * H, "", 2 * H, "Approved for 2 hours instead of the 4 hours asked."),
    (timedelta(minutes=30), "  INC-5 only needs  a peek ", timedelta(minutes=30),
     "Approved for 30 minutes instead of the 4 hours asked."),
    (None, "fine for the incident", ASKED, None),               # a reason without a change
])
def test_approving_for_up_to_what_was_asked(world: World, given: timedelta | None, reason: str, granted: timedelta,
                                            note: str | None) -> None:
    request = world.submit(duration=ASKED)
    world.service.approve(request_id=request.id or 0, user_id=BOB, duration=given, reason=reason)
    approved = world.request(request.id or 0)
    grant = world.grant_of(request.id or 0)
    assert (approved.status, approved.duration_seconds, approved.outcome_note) == (
        RequestStatus.APPROVED, int(granted.total_seconds()), note)
    assert grant.status is GrantStatus.ACTIVE and grant.expires_at == world.clock.now() + granted
    cleaned = " ".join(reason.split()) or None
    assert [(a.user_id, a.reason) for a in approved.approvals] == [(BOB, cleaned)]
    audit = world.audit("approved")[0].detail
    assert audit.get("reason") == cleaned
    assert audit.get("seconds") == (int(given.total_seconds()) if given else None)
    assert world.notifier.told(request.id)[-2:] == ["requested", "granted"]  # granted at the click: one DM says both


@pytest.mark.parametrize(("given", "words"), [
    (ASKED + timedelta(minutes=1), "at most the 4 hours asked"),   # more than asked
    (timedelta(days=2), "at most the 4 hours asked"),
    (timedelta(0), "some time"),
])
def test_approving_for_more_than_asked_or_nothing_is_refused_and_changes_nothing(
    world: World, given: timedelta, words: str,
) -> None:
    request = world.request(world.submit(duration=ASKED).id or 0)
    with pytest.raises(FieldErrors) as refused:
        world.service.approve(request_id=request.id or 0, user_id=BOB, duration=given)
    assert list(refused.value.errors) == ["duration"] and words in refused.value.errors["duration"]
    with pytest.raises(FieldErrors):
        world.service.check_approval(request_id=request.id or 0, duration=given, reason="")
    assert world.request(request.id or 0) == request
    assert world.audit("approved") == [] and world.grants() == []


def test_a_reason_too_long_is_refused(world: World) -> None:
    request = world.request(world.submit(duration=ASKED).id or 0)
    with pytest.raises(FieldErrors, match="1000 characters"):
        world.service.approve(request_id=request.id or 0, user_id=BOB, reason="x" * 1001)
    assert world.request(request.id or 0) == request


def test_a_flow_may_require_a_reason_with_every_approval(world: World) -> None:
    world.set_flow(approval_reason="required")
    request = world.submit(duration=ASKED)
    assert world.service.reason_required(request)
    with pytest.raises(FieldErrors, match="needs a reason with every approval"):
        world.service.approve(request_id=request.id or 0, user_id=BOB)
    assert world.request(request.id or 0).status is RequestStatus.PENDING
    # someone who may not decide hears that first, not the missing reason (and the refusal is on record)
    with pytest.raises(NotAllowed):
        world.service.approve(request_id=request.id or 0, user_id=EVE)
    assert [e.actor for e in world.audit("refused")] == [EVE]
    world.service.approve(request_id=request.id or 0, user_id=BOB, reason="INC-5")
    assert world.request(request.id or 0).status is RequestStatus.APPROVED


def test_with_a_quorum_the_shortest_time_any_approver_allowed_is_granted(world: World) -> None:
    world.set_flow(approvals_required=2)
    request = world.submit(duration=ASKED)
    world.service.approve(request_id=request.id or 0, user_id=BOB, duration=3 * H, reason="3h is enough")
    waiting = world.request(request.id or 0)
    assert waiting.status is RequestStatus.PENDING and waiting.duration_seconds == int(ASKED.total_seconds())
    world.service.approve(request_id=request.id or 0, user_id=CYD, duration=2 * H)
    approved = world.request(request.id or 0)
    assert approved.duration_seconds == int((2 * H).total_seconds())
    assert [(a.user_id, a.seconds) for a in approved.approvals] == [(BOB, 10800), (CYD, 7200)]
    assert world.grant_of(request.id or 0).expires_at == world.clock.now() + 2 * H
    # and nobody counts twice, whatever they approve for
    with pytest.raises(AlreadyDecided):
        world.service.approve(request_id=request.id or 0, user_id=BOB, duration=H)


def test_an_extension_approved_for_less_adds_that_much(world: World) -> None:
    grant = world.approved(duration=H)
    extension = world.selfservice.extend(grant_id=grant.id or 0, requester=ANN, duration=2 * H,
                                         justification="INC-5 runs long")
    world.service.approve(request_id=extension.id or 0, user_id=BOB, duration=timedelta(minutes=30))
    assert world.grant(grant.id or 0).expires_at == (grant.expires_at or world.clock.now()) + timedelta(minutes=30)


@pytest.mark.parametrize(("value", "ok"), [("optional", True), ("required", True), ("always", False)])
def test_approval_reason_in_the_configuration(value: str, ok: bool) -> None:
    data = flow().model_dump() | {"approval_reason": value}
    if ok:
        assert AccessFlowSpec.model_validate(data).approval_reason == value
    else:
        with pytest.raises(ValidationError):
            AccessFlowSpec.model_validate(data)
    assert flow().approval_reason == "optional"

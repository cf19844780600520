"""Approving and denying: who may decide (settled at click time), quorum, a request already decided, what is
recorded, granted and told. Given ann's request on payments (owned by @payments-oncall: bob and cyd)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta

import pytest

from access.errors import AlreadyDecided, FieldErrors, NotAllowed, NotFound
from access.model import GrantStatus, RequestStatus
from tests.usecases.world import ANN, BOB, CYD, DAN, EVE, ORG_FLOW, ORG_ID, READ, SEARCH, World, flow

ALLOWED, REFUSED, DECIDED = "allowed", "not allowed", "already decided"


@dataclass(frozen=True)
class Click:
    name: str
    clicker: str
    outcome: str
    before: tuple[tuple[str, str], ...] = ()  # (action, user) taken first


CLICKS = [
    Click("an owner approves", BOB, ALLOWED),
    Click("the other owner approves", CYD, ALLOWED),
    Click("the requester may not approve her own", ANN.user_id, REFUSED),
    Click("someone outside the owners may not", EVE, REFUSED),
    Click("the integration owner may not where the project has owners", DAN, REFUSED),
    Click("a second approval finds it approved", CYD, DECIDED, (("approve", BOB),)),
    Click("the same owner twice", BOB, DECIDED, (("approve", BOB),)),
    Click("approving a denied request", CYD, DECIDED, (("deny", BOB),)),
    Click("approving a cancelled request", BOB, DECIDED, (("cancel", ANN.user_id),)),
    Click("approving an expired request", BOB, DECIDED, (("expire", ""),)),
]


def take(world: World, request_id: int, action: str, user: str) -> None:
    if action == "approve":
        world.service.approve(request_id=request_id, user_id=user)
    elif action == "deny":
        world.service.deny(request_id=request_id, user_id=user, reason="not during the freeze")
    elif action == "cancel":
        world.service.cancel(request_id=request_id, user_id=user)
    else:
        world.clock.advance(hours=25)
        world.timeouts.run()


@pytest.mark.parametrize("case", CLICKS, ids=lambda c: c.name)
@pytest.mark.parametrize("action", ["approve", "deny"])
def test_who_may_decide(world: World, case: Click, action: str) -> None:
    # given ann's pending request, and what happened to it first
    request = world.submit()
    for before, user in case.before:
        take(world, request.id or 0, before, user)
    status_before = world.request(request.id or 0).status
    # when the clicker approves or denies
    if case.outcome == ALLOWED:
        take(world, request.id or 0, action, case.clicker)
        stored = world.request(request.id or 0)
        expected = RequestStatus.APPROVED if action == "approve" else RequestStatus.DENIED
        assert (stored.status, stored.decided_by) == (expected, case.clicker)
        [row] = world.audit("approved" if action == "approve" else "denied")
        assert (row.actor, row.detail["via"]) == (case.clicker, "resource_owner:@payments-oncall")
        return
    error = NotAllowed if case.outcome == REFUSED else AlreadyDecided
    with pytest.raises(error):
        take(world, request.id or 0, action, case.clicker)
    # then nothing moved, and the refusal is on the audit trail
    assert world.request(request.id or 0).status is status_before
    assert world.audit("refused")[-1].actor == case.clicker


def test_an_approval_grants_and_tells_the_requester(world: World) -> None:
    request = world.submit()
    world.service.approve(request_id=request.id or 0, user_id=BOB)
    grant = world.grant_of(request.id or 0)
    assert grant.status is GrantStatus.ACTIVE and world.roles() == {READ}
    # granted at the click, before any message: one DM says it is granted (and who approved it)
    assert world.notifier.told(request.id) == ["requested", "granted"]
    assert world.actions(request.id) == ["requested", "approved", "granted"]
    message = world.notifier.message(request.id or 0)
    assert message is not None and message.request.status is RequestStatus.APPROVED


def test_an_approval_whose_grant_must_be_retried_says_approved_and_then_granted(world: World) -> None:
    request = world.submit()
    world.gateway.faults.fail_next("unreachable", method="grant")
    world.service.approve(request_id=request.id or 0, user_id=BOB)
    assert world.notifier.told(request.id) == ["requested", "approved"]  # "granting it in Atlas now…"
    world.expire(timedelta(seconds=5))
    assert world.notifier.told(request.id) == ["requested", "approved", "granted"]


def test_a_denial_keeps_the_reason_tells_the_requester_and_grants_nothing(world: World) -> None:
    request = world.submit()
    world.service.deny(request_id=request.id or 0, user_id=CYD, reason="  use the\nread replica ")
    stored = world.request(request.id or 0)
    assert (stored.status, stored.deny_reason, stored.pending_key) == (RequestStatus.DENIED, "use the read replica",
                                                                       None)
    assert world.grants() == [] and world.roles() == set()
    assert world.notifier.told(request.id) == ["requested", "denied"]
    assert world.audit("denied")[0].detail["reason"] == "use the read replica"


@pytest.mark.parametrize(("reason", "words"), [("", "Say why"), ("no", "Say why"), ("x" * 3001, "Keep the reason")])
def test_a_denial_needs_a_reason_of_reasonable_length(world: World, reason: str, words: str) -> None:
    request = world.submit()
    with pytest.raises(FieldErrors, match=words):
        world.service.deny(request_id=request.id or 0, user_id=BOB, reason=reason)
    assert world.request(request.id or 0).status is RequestStatus.PENDING and world.actions() == ["requested"]


@pytest.mark.parametrize("action", ["approve", "deny", "cancel"])
def test_an_unknown_request(world: World, action: str) -> None:
    with pytest.raises(NotFound):
        take(world, 404, action, BOB)


# --- quorum -------------------------------------------------------------------------------------------------


def test_two_approvals_needed_one_each_from_two_owners() -> None:
    world = World(flows=[flow(approvals_required=2)])
    request = world.submit()
    first = world.service.approve(request_id=request.id or 0, user_id=BOB)
    assert first.status is RequestStatus.PENDING and [a.user_id for a in first.approvals] == [BOB]
    assert world.grants() == [] and world.actions(request.id) == ["requested", "approval_added"]
    with pytest.raises(AlreadyDecided, match="approved by you"):
        world.service.approve(request_id=request.id or 0, user_id=BOB)
    second = world.service.approve(request_id=request.id or 0, user_id=CYD)
    assert second.status is RequestStatus.APPROVED and second.decided_by == CYD
    assert world.grant_of(request.id or 0).status is GrantStatus.ACTIVE


def test_one_owner_may_still_deny_after_the_other_approved() -> None:
    world = World(flows=[flow(approvals_required=2)])
    request = world.submit()
    world.service.approve(request_id=request.id or 0, user_id=BOB)
    denied = world.service.deny(request_id=request.id or 0, user_id=CYD, reason="not now please")
    assert denied.status is RequestStatus.DENIED and world.grants() == []


# --- approvers settled at click time ---------------------------------------------------------------------------


def test_someone_who_left_the_owners_can_no_longer_decide_and_the_message_says_who_can(world: World) -> None:
    # given ann's request, and bob leaves @payments-oncall afterwards
    request = world.submit()
    world.directory.leave("payments-oncall", BOB)
    # when bob clicks approve, then he is refused, and the request (and its message) name cyd alone
    with pytest.raises(NotAllowed, match="you are not one of them"):
        world.service.approve(request_id=request.id or 0, user_id=BOB)
    assert world.request(request.id or 0).approvers == (CYD,)
    message = world.notifier.message(request.id or 0)
    assert message is not None and message.request.approvers == (CYD,)
    # and cyd still may
    assert world.service.approve(request_id=request.id or 0, user_id=CYD).status is RequestStatus.APPROVED


def test_someone_who_joined_the_owners_may_decide(world: World) -> None:
    request = world.submit()
    world.directory.join("payments-oncall", EVE)
    approved = world.service.approve(request_id=request.id or 0, user_id=EVE)
    assert approved.status is RequestStatus.APPROVED and EVE in approved.approvers
    assert world.audit("approved")[0].detail["via"] == "resource_owner:@payments-oncall"


@pytest.mark.parametrize("change", ["owner tag removed in Atlas", "owner group emptied", "owner group disabled"])
def test_without_owners_now_the_integration_owners_decide(world: World, change: str) -> None:
    request = world.submit()
    if change == "owner tag removed in Atlas":
        world.atlas.projects[request.resource_id].tags.pop("owner")
        world.sync.run("prod")
    elif change == "owner group emptied":
        world.directory.set_members("payments-oncall", [])
    else:
        world.directory.disable_group("payments-oncall")
    with pytest.raises(NotAllowed):
        world.service.approve(request_id=request.id or 0, user_id=BOB)
    approved = world.service.approve(request_id=request.id or 0, user_id=DAN)
    assert approved.status is RequestStatus.APPROVED and approved.approvers == (DAN,)
    assert world.audit("approved")[0].detail["via"] == "integration_owners:@atlas-admins"


def test_an_integration_owner_named_by_email_or_user_id(world: World) -> None:
    world.set_integration(integration_owners=["eve@example.com", "U0CYD"], resource_owner=None)
    request = world.submit(resource=SEARCH)
    assert world.request(request.id or 0).approvers == (CYD, EVE)
    world.service.approve(request_id=request.id or 0, user_id=EVE)
    assert world.audit("approved")[0].detail["via"] == "integration_owners:eve@example.com"


def test_while_slack_cannot_say_who_the_owners_are_nobody_may_decide(world: World) -> None:
    request = world.submit()
    world.directory.trouble = True
    for user in (BOB, DAN):
        with pytest.raises(NotAllowed):
            world.service.approve(request_id=request.id or 0, user_id=user)
    world.directory.trouble = False
    assert world.service.approve(request_id=request.id or 0, user_id=BOB).status is RequestStatus.APPROVED


def test_the_deny_modal_opens_only_for_who_may_decide_now(world: World) -> None:
    request = world.submit()
    assert world.service.may_decide(request_id=request.id or 0, user_id=BOB).id == request.id
    for user, error in ((ANN.user_id, NotAllowed), (EVE, NotAllowed)):
        with pytest.raises(error):
            world.service.may_decide(request_id=request.id or 0, user_id=user)
    world.directory.join("payments-oncall", EVE)
    assert world.service.may_decide(request_id=request.id or 0, user_id=EVE).id == request.id
    world.service.approve(request_id=request.id or 0, user_id=BOB)
    with pytest.raises(AlreadyDecided):
        world.service.may_decide(request_id=request.id or 0, user_id=CYD)
    with pytest.raises(NotFound):
        world.service.may_decide(request_id=404, user_id=CYD)


def test_what_waits_for_a_decision_is_what_a_click_would_allow(world: World) -> None:
    world.set_flow(approvals_required=1)
    world.set_flow("prod-org", **{k: v for k, v in ORG_FLOW.items() if k != "name"})
    mine = world.submit()
    org = world.submit(resource=ORG_ID, roles=("ORG_READ_ONLY",))
    assert [r.id for r in world.homes.to_decide(user_id=BOB)] == [mine.id]
    assert [r.id for r in world.homes.to_decide(user_id=DAN)] == [org.id]
    assert world.homes.to_decide(user_id=EVE) == () and world.homes.to_decide(user_id=ANN.user_id) == ()
    world.directory.join("payments-oncall", EVE)
    world.directory.leave("payments-oncall", BOB)
    assert [r.id for r in world.homes.to_decide(user_id=EVE)] == [mine.id]
    assert world.homes.to_decide(user_id=BOB) == ()


def test_a_decision_refused_after_the_owners_changed_is_still_recorded(world: World) -> None:
    request = world.submit()
    world.directory.leave("payments-oncall", BOB)
    with pytest.raises(NotAllowed):
        world.service.deny(request_id=request.id or 0, user_id=BOB, reason="no thanks")
    [refused] = world.audit("refused")
    assert refused.actor == BOB and refused.request_id == request.id


def test_two_owners_clicking_at_once_make_one_approval_and_one_grant(world: World) -> None:
    request = world.submit()
    outcomes: list[str] = []

    def click(user: str) -> None:
        try:
            world.service.approve(request_id=request.id or 0, user_id=user)
            outcomes.append("approved")
        except AlreadyDecided:
            outcomes.append("already decided")

    threads = [threading.Thread(target=click, args=(user,)) for user in (BOB, CYD, BOB)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["already decided", "already decided", "approved"]
    assert len(world.request(request.id or 0).approvals) == 1 and len(world.grants()) == 1
    assert world.roles() == {READ} and len(world.audit("granted")) == 1

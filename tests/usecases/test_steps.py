"""Multi-step approvals: the resource's owners, then @atlas-security. Each step waits for the one before, has its own
approvers (resolved at each click) and quorum; nobody approves their own request at any step, one person counts
once per request, and a deny at any step ends it."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from access.config import AccessFlowSpec
from access.errors import AlreadyDecided, NotAllowed, RequestRefused
from access.model import GrantStatus, RequestStatus
from access.steps import current_step
from tests.usecases.world import ANN, BOB, CYD, DAN, EVE, World, flow

SECURITY = [{"approvers": "owners", "required": 1}, {"approvers": ["@atlas-security"], "required": 1}]


def world_with(steps: list[dict[str, Any]], security: tuple[str, ...] = (EVE,)) -> World:
    world = World(flows=[flow(approval_steps=steps)])
    world.directory.add_group("S0SEC", "atlas-security", list(security))
    return world


@pytest.fixture
def world() -> World:
    return world_with(SECURITY)


def test_each_step_waits_for_the_one_before(world: World) -> None:
    request = world.submit()
    assert (current_step(request), request.approvers, request.approvals_required) == (0, (BOB, CYD), 2)
    # security cannot go first
    with pytest.raises(NotAllowed):
        world.service.approve(request_id=request.id or 0, user_id=EVE)
    # the owners' step, then security's
    world.service.approve(request_id=request.id or 0, user_id=BOB)
    after_owners = world.request(request.id or 0)
    assert after_owners.status is RequestStatus.PENDING and current_step(after_owners) == 1
    assert (after_owners.approvers, after_owners.approver_group) == ((EVE,), "atlas-security")
    assert world.grants() == []
    world.service.approve(request_id=request.id or 0, user_id=EVE)
    approved = world.request(request.id or 0)
    assert approved.status is RequestStatus.APPROVED and current_step(approved) == 2
    assert [(a.user_id, a.step) for a in approved.approvals] == [(BOB, 0), (EVE, 1)]
    assert world.grant_of(request.id or 0).status is GrantStatus.ACTIVE
    assert [(e.actor, e.action, e.detail["step"]) for e in world.audit() if e.action.startswith("approv")] == [
        (BOB, "approval_added", 1), (EVE, "approved", 2)]


def test_each_step_has_its_own_quorum() -> None:
    world = world_with([{"approvers": "owners", "required": 2}, {"approvers": ["@atlas-security"], "required": 1}])
    request = world.submit()
    world.service.approve(request_id=request.id or 0, user_id=BOB)
    assert current_step(world.request(request.id or 0)) == 0
    with pytest.raises(NotAllowed):
        world.service.approve(request_id=request.id or 0, user_id=EVE)
    world.service.approve(request_id=request.id or 0, user_id=CYD)
    assert current_step(world.request(request.id or 0)) == 1
    world.service.approve(request_id=request.id or 0, user_id=EVE)
    assert world.request(request.id or 0).status is RequestStatus.APPROVED


def test_one_person_counts_once_per_request() -> None:
    world = world_with(SECURITY, security=(CYD, EVE))  # cyd owns payments and is in security
    request = world.submit()
    world.service.approve(request_id=request.id or 0, user_id=CYD)
    assert world.request(request.id or 0).approvers == (EVE,)  # cyd is no approver of the second step
    with pytest.raises(NotAllowed):
        world.service.approve(request_id=request.id or 0, user_id=CYD)
    world.service.approve(request_id=request.id or 0, user_id=EVE)
    assert world.request(request.id or 0).status is RequestStatus.APPROVED


def test_nobody_approves_their_own_request_at_any_step() -> None:
    world = world_with(SECURITY, security=(EVE, ANN.user_id))
    request = world.submit()  # ann asks: she is in security, but not an approver of her own request
    world.service.approve(request_id=request.id or 0, user_id=BOB)
    assert world.request(request.id or 0).approvers == (EVE,)
    with pytest.raises(NotAllowed, match="own request"):
        world.service.approve(request_id=request.id or 0, user_id=ANN.user_id)


def test_a_step_without_enough_approvers_is_refused_when_asked() -> None:
    world = world_with(SECURITY, security=(ANN.user_id,))  # security is ann alone
    with pytest.raises(RequestRefused, match="Step 2 of the approval has too few approvers"):
        world.submit()
    assert world.requests() == []


def test_a_deny_at_any_step_ends_the_request(world: World) -> None:
    request = world.submit()
    world.service.approve(request_id=request.id or 0, user_id=BOB)
    world.service.deny(request_id=request.id or 0, user_id=EVE, reason="not during the audit")
    denied = world.request(request.id or 0)
    assert (denied.status, denied.decided_by) == (RequestStatus.DENIED, EVE) and world.grants() == []
    with pytest.raises(AlreadyDecided):
        world.service.approve(request_id=request.id or 0, user_id=EVE)


def test_a_step_approver_who_left_the_group_is_refused(world: World) -> None:
    request = world.submit()
    world.service.approve(request_id=request.id or 0, user_id=BOB)
    world.directory.leave("atlas-security", EVE)
    world.directory.join("atlas-security", DAN)
    with pytest.raises(NotAllowed):
        world.service.approve(request_id=request.id or 0, user_id=EVE)
    world.service.approve(request_id=request.id or 0, user_id=DAN)  # who joined decides
    assert world.request(request.id or 0).status is RequestStatus.APPROVED


def test_the_home_shows_the_request_to_the_current_steps_approvers(world: World) -> None:
    request = world.submit()
    assert [r.id for r in world.homes.to_decide(user_id=BOB)] == [request.id]
    assert world.homes.to_decide(user_id=EVE) == ()
    world.service.approve(request_id=request.id or 0, user_id=BOB)
    assert world.homes.to_decide(user_id=BOB) == () and world.homes.to_decide(user_id=CYD) == ()
    assert [r.id for r in world.homes.to_decide(user_id=EVE)] == [request.id]


@pytest.mark.parametrize(("changes", "ok"), [
    ({}, True),
    ({"approval": "auto"}, False),
    ({"break_glass": True}, False),
    ({"approval_steps": [{"approvers": ["everyone"]}]}, False),
    ({"approval_steps": []}, False),
    ({"approval_steps": [{"approvers": "owners"}] * 6}, False),
    ({"approval_steps": [{"approvers": "someone"}]}, False),
    ({"approval_steps": [{"approvers": ["@sec", "okta:Security Team", "U0SEC"], "required": 2}]}, True),
])
def test_approval_steps_in_the_configuration(changes: dict[str, Any], ok: bool) -> None:
    data = flow().model_dump() | {"approval_steps": SECURITY} | changes
    if ok:
        assert AccessFlowSpec.model_validate(data).approval_steps
    else:
        with pytest.raises(ValidationError):
            AccessFlowSpec.model_validate(data)

"""Break-glass: an emergency is granted at once, announced loudly, and reviewed afterwards by the owners as they
are when "Reviewed" is clicked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from access.errors import AlreadyDecided, NotAllowed
from access.model import GrantStatus, RequestStatus
from tests.usecases.world import ANN, BOB, CYD, DAN, DATA_WRITE, EVE, GLASS_FLOW, World, flow


@pytest.fixture
def glass() -> World:
    return World(flows=[flow(), flow(**GLASS_FLOW)])


def emergency(world: World) -> int:
    request = world.submit(roles=(DATA_WRITE,), emergency=True)
    return request.id or 0


def test_an_emergency_is_granted_at_once_and_awaits_review(glass: World) -> None:
    request_id = emergency(glass)
    stored = glass.request(request_id)
    assert (stored.status, stored.decided_by, stored.break_glass, stored.reviewed_by) == (
        RequestStatus.APPROVED, "break_glass", True, None)
    assert glass.grant_of(request_id).status is GrantStatus.ACTIVE and glass.roles() == {DATA_WRITE}
    [row] = glass.audit("break_glass")
    assert row.actor == ANN.user_id and row.detail["reviewers"] == [BOB, CYD]
    assert row.detail["justification"] == stored.justification


@dataclass(frozen=True)
class Review:
    name: str
    reviewer: str
    allowed: bool
    error: type[Exception] = NotAllowed
    first: str | None = None


REVIEWS = [
    Review("an owner reviews", BOB, True),
    Review("the requester may not review her own", ANN.user_id, False),
    Review("someone outside the owners may not", EVE, False),
    Review("the integration owner may not where the project has owners", DAN, False),
    Review("a second review finds it reviewed", CYD, False, AlreadyDecided, first=BOB),
]


@pytest.mark.parametrize("case", REVIEWS, ids=lambda c: c.name)
def test_who_may_review(glass: World, case: Review) -> None:
    request_id = emergency(glass)
    if case.first:
        glass.service.review(request_id=request_id, user_id=case.first)
    if not case.allowed:
        with pytest.raises(case.error):
            glass.service.review(request_id=request_id, user_id=case.reviewer)
        assert glass.request(request_id).reviewed_by == case.first
        assert glass.audit("refused")[-1].actor == case.reviewer
        return
    reviewed = glass.service.review(request_id=request_id, user_id=case.reviewer)
    assert (reviewed.reviewed_by, reviewed.reviewed_at) == (case.reviewer, glass.clock.now())
    [row] = glass.audit("break_glass_reviewed")
    assert row.detail["via"] == "resource_owner:@payments-oncall" and row.detail["requester"] == ANN.user_id
    assert glass.notifier.told(request_id)[-1] == "break_glass_reviewed"
    assert glass.grant_of(request_id).status is GrantStatus.ACTIVE  # a review changes no access


def test_only_break_glass_access_is_reviewed(glass: World) -> None:
    request = glass.submit()
    glass.service.approve(request_id=request.id or 0, user_id=BOB)
    with pytest.raises(NotAllowed, match="Only break-glass"):
        glass.service.review(request_id=request.id or 0, user_id=CYD)


def test_reviewers_are_the_owners_at_click_time(glass: World) -> None:
    request_id = emergency(glass)
    glass.directory.leave("payments-oncall", BOB)
    glass.directory.join("payments-oncall", EVE)
    with pytest.raises(NotAllowed):
        glass.service.review(request_id=request_id, user_id=BOB)
    assert glass.request(request_id).approvers == (CYD, EVE)
    assert glass.service.review(request_id=request_id, user_id=EVE).reviewed_by == EVE


def test_an_emergency_with_nobody_to_review_it_is_still_granted(glass: World) -> None:
    glass.directory.set_members("payments-oncall", [])
    glass.directory.set_members("atlas-admins", [])
    request_id = emergency(glass)
    assert glass.grant_of(request_id).status is GrantStatus.ACTIVE and glass.request(request_id).approvers == ()


def test_an_emergency_is_neither_reminded_nor_expired_while_unreviewed(glass: World) -> None:
    request_id = emergency(glass)
    glass.clock.advance(hours=25)
    assert glass.timeouts.run() == 0
    assert glass.request(request_id).status is RequestStatus.APPROVED and glass.notifier.reminders() == []


def test_an_emergency_is_bounded_by_its_flow(glass: World) -> None:
    request_id = emergency(glass)
    assert glass.grant_of(request_id).expires_at == glass.clock.now() + timedelta(hours=1)
    glass.expire(timedelta(hours=1))
    assert glass.grant_of(request_id).status is GrantStatus.REVOKED and glass.roles() == set()

"""Scheduled access: a request may start later (within the flow's max_schedule_ahead, default 7 days); it is approved
ahead, granted at the start by the worker (its grant is due then, as any grant due later is), and revoked at the
start plus its duration."""

from __future__ import annotations

from datetime import timedelta

import pytest

from access.errors import FieldErrors, RequestRefused
from access.model import GrantStatus, RequestStatus
from tests.usecases.world import ANN, BOB, GLASS_FLOW, READ, World, flow

H = timedelta(hours=1)


def test_approved_ahead_granted_at_the_start_revoked_at_start_plus_duration(world: World) -> None:
    start = world.clock.now() + 2 * H
    request = world.submit(duration=H, start=start)
    assert request.starts_at == start
    world.service.approve(request_id=request.id or 0, user_id=BOB)
    assert world.request(request.id or 0).status is RequestStatus.APPROVED
    # approved ahead: the grant waits for its start, nothing is in Atlas yet
    waiting = world.grant_of(request.id or 0)
    assert (waiting.status, waiting.next_attempt_at, world.roles()) == (GrantStatus.GRANTING, start, set())
    assert world.expire(2 * H - timedelta(seconds=1)) == 0 and world.roles() == set()
    # at the start it is granted, for its duration
    world.expire(timedelta(seconds=1))
    granted = world.grant_of(request.id or 0)
    assert (granted.status, granted.starts_at, granted.expires_at) == (GrantStatus.ACTIVE, start, start + H)
    assert world.roles() == {READ}
    world.expire(H)
    assert world.grant_of(request.id or 0).status is GrantStatus.REVOKED and world.roles() == set()


def test_an_auto_approved_flow_schedules_too() -> None:
    world = World(flows=[flow(approval="auto", justification="optional")])
    start = world.clock.now() + H
    request = world.submit(start=start)
    assert request.status is RequestStatus.APPROVED and world.roles() == set()
    world.expire(H)
    assert world.grant_of(request.id or 0).status is GrantStatus.ACTIVE and world.roles() == {READ}


@pytest.mark.parametrize(("ahead", "limit", "words"), [
    (timedelta(0), None, "in the past"),
    (-H, None, "in the past"),
    (timedelta(days=7, seconds=1), None, "at most 7d ahead"),
    (timedelta(days=2), timedelta(days=1), "at most 1d ahead"),
])
def test_a_start_in_the_past_or_past_the_limit_is_refused(ahead: timedelta, limit: timedelta | None,
                                                         words: str) -> None:
    world = World(flows=[flow(**({"max_schedule_ahead": limit} if limit else {}))])
    with pytest.raises(FieldErrors) as refused:
        world.submit(start=world.clock.now() + ahead)
    assert list(refused.value.errors) == ["start"] and words in refused.value.errors["start"]
    assert world.requests() == []


def test_within_the_limit_is_taken() -> None:
    world = World(flows=[flow(max_schedule_ahead=timedelta(days=1))])
    assert world.submit(start=world.clock.now() + timedelta(days=1)).starts_at is not None


def test_break_glass_is_for_now() -> None:
    world = World(flows=[flow(**GLASS_FLOW)])
    with pytest.raises(RequestRefused, match="for now"):
        world.submit(roles=(READ,), start=world.clock.now() + H, emergency=True)
    assert world.requests() == []


def test_the_home_shows_scheduled_access(world: World) -> None:
    request = world.submit(start=world.clock.now() + 3 * H)
    world.service.approve(request_id=request.id or 0, user_id=BOB)
    home = world.homes.home(user_id=ANN.user_id)
    assert [(g.request_id, g.status, g.next_attempt_at) for g in home.grants] == [
        (request.id, GrantStatus.GRANTING, world.clock.now() + 3 * H)]

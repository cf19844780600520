"""Extend: more time on an active grant, decided like a request, bounded by the flow's max_duration counted from
the grant's start (checked when asked and again when applied)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from access.errors import FieldErrors, NotAllowed, NotFound, Replayed, RequestRefused
from access.model import GrantStatus, RequestStatus
from access.policy import Requester
from tests.usecases.world import ANN, BOB, CLUSTER, CLUSTER_FLOW, DATA_WRITE, GLASS_FLOW, WHY, World, flow, person

H = timedelta(hours=1)


def extend(world: World, grant_id: int, more: timedelta = 2 * H, who: Requester = ANN, **options: object) -> int:
    request = world.selfservice.extend(grant_id=grant_id, requester=who, duration=more, justification=WHY,
                                       **options)  # type: ignore[arg-type]
    return request.id or 0


def test_an_approved_extension_moves_the_expiry_and_the_revocation(world: World) -> None:
    # given ann's grant for an hour, its expiry reminder sent
    grant = world.approved(duration=H)
    start = grant.starts_at
    world.clock.advance(minutes=50)
    world.reminders.run()
    # when she asks for 2 more hours and bob approves
    request_id = extend(world, grant.id or 0)
    world.service.announce(request_id=request_id)
    world.service.approve(request_id=request_id, user_id=BOB)
    # then the grant ends 3 hours after it started, and she will be reminded again before then
    moved = world.grant(grant.id or 0)
    assert moved.expires_at == (start or world.clock.now()) + 3 * H and moved.reminder_sent_at is None
    assert [e.action for e in world.audit() if e.grant_id == grant.id][-2:] == ["extension_requested", "extended"]
    assert world.notifier.told(request_id) == ["requested", "approved"]
    # and the role stays past the old expiry, and goes at the new one
    world.expire(H)
    assert world.grant(grant.id or 0).status is GrantStatus.ACTIVE and world.roles() != set()
    world.expire(2 * H)
    assert world.grant(grant.id or 0).status is GrantStatus.REVOKED and world.roles() == set()


def test_a_denied_extension_changes_nothing(world: World) -> None:
    grant = world.approved()
    request_id = extend(world, grant.id or 0)
    world.service.deny(request_id=request_id, user_id=BOB, reason="enough for today")
    assert world.grant(grant.id or 0).expires_at == grant.expires_at


@dataclass(frozen=True)
class Asked:
    name: str
    more: timedelta
    error: type[Exception] | None = None
    words: str = ""


ASKED = [
    Asked("up to the flow's maximum from the start", 7 * H),
    Asked("a minute past the maximum", 7 * H + timedelta(minutes=1), FieldErrors, "at most 420 more minutes"),
    Asked("nothing", timedelta(0), FieldErrors, "longer than zero"),
]


@pytest.mark.parametrize("case", ASKED, ids=lambda c: c.name)
def test_what_may_be_asked(world: World, case: Asked) -> None:
    grant = world.approved(duration=H)
    if case.error is None:
        request_id = extend(world, grant.id or 0, case.more)
        assert world.request(request_id).extends_grant_id == grant.id
        return
    with pytest.raises(case.error, match=case.words):
        extend(world, grant.id or 0, case.more)
    assert [r for r in world.requests() if r.extends_grant_id] == []


@pytest.mark.parametrize(("case", "words"), [
    ("someone else's grant", "Only the person who holds"),
    ("a grant that ended", "Only active access"),
    ("a grant still being invited", "Only active access"),
    ("a cluster grant", "can't be extended"),
    ("break-glass access", "can't be extended"),
    ("a flow since disabled", "gone or disabled"),
    ("a grant already at its maximum", "already lasts as long"),
])
def test_what_cannot_be_extended(case: str, words: str) -> None:
    world = World(flows=[flow(), flow(**GLASS_FLOW), flow(**CLUSTER_FLOW)])
    who = ANN
    if case == "a cluster grant":
        grant = world.approved(resource=CLUSTER, roles=("read@orders",))
    elif case == "break-glass access":
        request = world.submit(roles=(DATA_WRITE,), emergency=True)
        grant = world.grant_of(request.id or 0)
    elif case == "a grant still being invited":
        world.atlas.remove_user("5f1a2b3c4d5e6f7a8b9c0d1e", ANN.email)
        grant = world.approved()
    else:
        grant = world.approved(duration=8 * H if case == "a grant already at its maximum" else H)
    if case == "someone else's grant":
        who = person(BOB)
    if case == "a grant that ended":
        world.selfservice.done(grant_id=grant.id or 0, user_id=ANN.user_id)
    if case == "a flow since disabled":
        world.set_flow(enabled=False)
    with pytest.raises(NotAllowed, match=words):
        world.selfservice.check_extendable(grant_id=grant.id or 0, user_id=who.user_id)
    with pytest.raises(NotAllowed, match=words):
        extend(world, grant.id or 0, H, who)


def test_an_unknown_grant(world: World) -> None:
    with pytest.raises(NotFound):
        extend(world, 404)


def test_one_pending_extension_a_grant(world: World) -> None:
    grant = world.approved()
    first = extend(world, grant.id or 0, submission_key="V0EXT1")
    with pytest.raises(RequestRefused, match=f"request #{first} is waiting"):
        extend(world, grant.id or 0, submission_key="V0EXT2")
    with pytest.raises(Replayed):
        extend(world, grant.id or 0, submission_key="V0EXT1")
    world.service.cancel(request_id=first, user_id=ANN.user_id)
    assert extend(world, grant.id or 0) != first


def test_extensions_count_toward_the_persons_cap() -> None:
    world = World(max_pending=1)
    grant = world.approved()
    world.submit(roles=("GROUP_DATA_ACCESS_READ_ONLY",))
    with pytest.raises(RequestRefused, match="1 request waiting"):
        extend(world, grant.id or 0)


def test_an_auto_flow_extends_at_once() -> None:
    world = World(flows=[flow(approval="auto")])
    grant = world.approved(duration=H)
    request_id = extend(world, grant.id or 0, H)
    assert world.request(request_id).status is RequestStatus.APPROVED
    assert world.grant(grant.id or 0).expires_at == (grant.expires_at or world.clock.now()) + H


@pytest.mark.parametrize(("max_hours", "added", "action"), [
    (8, 2 * H, "extended"),  # the flow unchanged: what was asked
    (2, H, "extended"),  # the flow shortened meanwhile: what is left
    (1, timedelta(0), "extension_void"),  # no room left at all
])
def test_the_bound_is_checked_again_when_the_extension_is_applied(world: World, max_hours: int, added: timedelta,
                                                                  action: str) -> None:
    grant = world.approved(duration=H)
    request_id = extend(world, grant.id or 0, 2 * H)
    world.set_flow(max_duration=f"{max_hours}h")
    world.service.approve(request_id=request_id, user_id=BOB)
    moved = world.grant(grant.id or 0)
    assert moved.expires_at == (grant.expires_at or world.clock.now()) + added
    assert moved.expires_at - (moved.starts_at or world.clock.now()) <= timedelta(hours=max(max_hours, 1))
    [row] = world.audit(action)
    assert row.detail["asked_seconds"] == 7200
    note = world.request(request_id).outcome_note
    assert (note is None) == (added == 2 * H)


def test_an_extension_of_access_that_ended_meanwhile_adds_nothing(world: World) -> None:
    grant = world.approved()
    request_id = extend(world, grant.id or 0)
    world.selfservice.done(grant_id=grant.id or 0, user_id=ANN.user_id)
    world.service.approve(request_id=request_id, user_id=BOB)
    assert world.grant(grant.id or 0).status is GrantStatus.REVOKED
    assert "already ended" in (world.request(request_id).outcome_note or "")
    assert world.audit("extension_void")[0].detail["reason"] == "the access has ended"


def test_many_extensions_never_pass_the_flows_maximum(world: World) -> None:
    grant = world.approved(duration=H)
    for _ in range(10):
        room = (grant.starts_at or world.clock.now()) + 8 * H - (world.grant(grant.id or 0).expires_at or
                                                                 world.clock.now())
        if room <= timedelta(0):
            with pytest.raises(NotAllowed):
                extend(world, grant.id or 0, H)
            break
        request_id = extend(world, grant.id or 0, min(2 * H, room))
        world.service.approve(request_id=request_id, user_id=BOB)
        world.clock.advance(minutes=30)
    final = world.grant(grant.id or 0)
    assert final.expires_at == (final.starts_at or world.clock.now()) + 8 * H

"""I'm done: the holder ends her grant early; the revocation runs at once and restores what she had before."""

from __future__ import annotations

import pytest

from access.errors import NotAllowed, NotFound
from access.model import GrantStatus
from tests.usecases.world import ANN, BOB, DATA_READ, ORG_ID, PAYMENTS, READ, World


def test_the_holder_ends_her_grant_and_atlas_takes_the_role_back_at_once(world: World) -> None:
    grant = world.approved(roles=(READ, DATA_READ))
    world.selfservice.done(grant_id=grant.id or 0, user_id=ANN.user_id)
    ended = world.grant(grant.id or 0)
    assert (ended.status, ended.ended_by, ended.revoked_at) == (GrantStatus.REVOKED, ANN.user_id, world.clock.now())
    assert world.roles() == set()
    assert world.actions(grant.request_id)[-2:] == ["ended_early", "revoked"]
    revoked = world.audit("revoked")[0]
    assert (revoked.detail["reason"], revoked.detail["ended_by"]) == ("ended_early", ANN.user_id)
    assert world.notifier.told(grant.request_id)[-1] == "revoked"


def test_what_she_had_before_stays(world: World) -> None:
    world.atlas.set_project_roles(PAYMENTS, ANN.email, [READ])
    grant = world.approved(roles=(READ, DATA_READ))
    assert grant.baseline_roles == (READ,) and world.roles() == {READ, DATA_READ}
    world.selfservice.done(grant_id=grant.id or 0, user_id=ANN.user_id)
    assert world.roles() == {READ}


def test_an_invitation_not_yet_accepted_is_withdrawn(world: World) -> None:
    world.atlas.remove_user(ORG_ID, ANN.email)
    grant = world.approved()
    assert grant.status is GrantStatus.INVITED and world.atlas.status(ORG_ID, ANN.email) is not None
    world.selfservice.done(grant_id=grant.id or 0, user_id=ANN.user_id)
    assert world.grant(grant.id or 0).status is GrantStatus.REVOKED and not world.has_user()


def test_without_run_the_grant_is_due_now_and_atlas_waits_for_the_worker(world: World) -> None:
    grant = world.approved()
    ending = world.selfservice.done(grant_id=grant.id or 0, user_id=ANN.user_id, run=False)
    assert (ending.status, ending.next_attempt_at, ending.expires_at) == (
        GrantStatus.REVOKING, world.clock.now(), world.clock.now())
    assert world.roles() == {READ}
    world.worker.run_due()
    assert world.roles() == set()


@pytest.mark.parametrize(("state", "user", "words"), [
    ("active", BOB, "Only the person who holds"),
    ("revoked", ANN.user_id, "already ending"),
    ("granting", ANN.user_id, "being granted"),
])
def test_who_may_end_a_grant_and_when(world: World, state: str, user: str, words: str) -> None:
    if state == "granting":
        world.gateway.faults.fail_always("unreachable", method="grant")
    grant = world.approved()
    if state == "revoked":
        world.selfservice.done(grant_id=grant.id or 0, user_id=ANN.user_id)
    before = world.grant(grant.id or 0)
    with pytest.raises(NotAllowed, match=words):
        world.selfservice.done(grant_id=grant.id or 0, user_id=user)
    assert world.grant(grant.id or 0) == before


def test_an_unknown_grant(world: World) -> None:
    with pytest.raises(NotFound):
        world.selfservice.done(grant_id=404, user_id=ANN.user_id)


def test_when_atlas_fails_the_end_is_retried_and_never_lost(world: World) -> None:
    grant = world.approved()
    world.gateway.faults.fail_next("unreachable", method="revoke")
    world.selfservice.done(grant_id=grant.id or 0, user_id=ANN.user_id)
    failed = world.grant(grant.id or 0)
    assert failed.status is GrantStatus.FAILED and world.roles() == {READ}
    world.clock.advance(minutes=5)
    world.worker.run_due()
    assert world.grant(grant.id or 0).status is GrantStatus.REVOKED and world.roles() == set()
    assert world.audit("revoked")[0].detail["reason"] == "ended_early"

"""The grant worker, granting: the baseline taken before Atlas is touched, only the missing roles added,
invitations for non-members and their polling, retries with back-off on every GatewayError kind, giving up,
answers lost on the way back, and the lease that keeps two workers off one grant."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta

import pytest

from access import lifecycle
from access.model import GrantStatus, MembershipStatus
from access.policy import Requester
from tests.fakes.faults import KINDS
from tests.usecases.world import (
    ANN,
    BOB,
    BOT,
    DAN,
    DATA_READ,
    OPTIONS,
    ORG_FLOW,
    ORG_ID,
    PAYMENTS,
    READ,
    World,
    flow,
)

G = GrantStatus
H = timedelta(hours=1)


def member_in_no_project(world: World) -> None:
    return None


def reads_already(world: World) -> None:
    world.atlas.set_project_roles(PAYMENTS, ANN.email, [READ])


def holds_both(world: World) -> None:
    world.atlas.set_project_roles(PAYMENTS, ANN.email, [READ, DATA_READ])


def not_in_the_org(world: World) -> None:
    world.atlas.remove_user(ORG_ID, ANN.email)


def invited_to_the_org(world: World) -> None:
    world.atlas.add_user(ORG_ID, ANN.email, status="PENDING")


def invitation_expired(world: World) -> None:
    world.atlas.add_user(ORG_ID, ANN.email, status="INVITATION_EXPIRED")


def another_grant_gave_data_read(world: World) -> None:
    world.approved(roles=(DATA_READ,), duration=4 * H)


@dataclass(frozen=True)
class GrantCase:
    name: str
    given: Callable[[World], None]
    status: GrantStatus
    baseline: tuple[str, ...]
    added: tuple[str, ...]
    added_user: bool
    atlas: str = "ACTIVE"  # her membership status in Atlas afterwards


GRANT_CASES = [
    GrantCase("a member in no project is added to it", member_in_no_project, G.ACTIVE, (), (DATA_READ, READ), True),
    GrantCase("what she reads already is her baseline", reads_already, G.ACTIVE, (READ,), (DATA_READ,), False),
    GrantCase("roles she holds already are not added", holds_both, G.ACTIVE, (DATA_READ, READ), (), False),
    GrantCase("someone outside the org is invited", not_in_the_org, G.INVITED, (), (DATA_READ, READ), True,
              "PENDING"),
    GrantCase("an invitee not yet in the project joins it, still invited", invited_to_the_org, G.INVITED, (),
              (DATA_READ, READ), True, "PENDING"),
    GrantCase("an expired invitation is renewed", invitation_expired, G.INVITED, (), (DATA_READ, READ), True,
              "PENDING"),
    GrantCase("a role another live grant gave is not her baseline", another_grant_gave_data_read, G.ACTIVE, (),
              (READ,), False),
]


@pytest.mark.parametrize("case", GRANT_CASES, ids=lambda c: c.name)
def test_a_grant_records_the_baseline_and_adds_only_what_is_missing(world: World, case: GrantCase) -> None:
    # given ann's standing in Atlas
    case.given(world)
    # when her request for read and data-read is approved and worked
    grant = world.approved(roles=(READ, DATA_READ), duration=2 * H)
    # then the grant says what she had and what it added, and Atlas shows both roles
    assert (grant.status, grant.baseline_roles, grant.added_roles, grant.added_user) == (
        case.status, case.baseline, case.added, case.added_user)
    assert grant.atlas_user_id == world.atlas.person(ANN.email) and grant.granted_at == world.clock.now()
    assert world.roles() == {READ, DATA_READ} and world.atlas.status(ORG_ID, ANN.email) == case.atlas
    assert (grant.lease_owner, grant.lease_until) == (None, None)
    now = world.clock.now()
    if case.status is G.ACTIVE:
        assert (grant.starts_at, grant.expires_at, grant.next_attempt_at) == (now, now + 2 * H, None)
        assert world.notifier.told(grant.request_id)[-1] == "granted"
    else:
        assert (grant.expires_at, grant.next_attempt_at) == (now + timedelta(days=7), now + timedelta(seconds=60))
        assert world.notifier.told(grant.request_id)[-1] == "invited"
    [row] = [e for e in world.audit() if e.grant_id == grant.id and e.action in ("granted", "invited")]
    assert row.actor == "system" and row.detail["added"] == list(case.added)


def test_an_organization_grant_keeps_org_member_as_the_baseline() -> None:
    world = World(flows=[flow(**ORG_FLOW)])
    grant = world.approved(resource=ORG_ID, roles=("ORG_READ_ONLY",), by=DAN)
    assert (grant.status, grant.baseline_roles, grant.added_roles) == (G.ACTIVE, ("ORG_MEMBER",), ("ORG_READ_ONLY",))
    assert world.roles(resource=ORG_ID) == {"ORG_MEMBER", "ORG_READ_ONLY"}
    world.expire(H)
    assert world.roles(resource=ORG_ID) == {"ORG_MEMBER"}


# --- invitations ------------------------------------------------------------------------------------------------


def invited(world: World) -> int:
    world.atlas.remove_user(ORG_ID, ANN.email)
    grant = world.approved(duration=2 * H)
    assert grant.status is G.INVITED
    return grant.id or 0


def test_an_accepted_invitation_starts_the_clock_when_it_is_seen(world: World) -> None:
    grant_id = invited(world)
    world.clock.advance(minutes=30)
    world.atlas.accept_invitation(ORG_ID, ANN.email)
    world.expire(timedelta(seconds=60))  # the next poll
    grant = world.grant(grant_id)
    now = world.clock.now()
    assert (grant.status, grant.starts_at, grant.expires_at) == (G.ACTIVE, now, now + 2 * H)
    assert world.notifier.told(grant.request_id)[-1] == "activated" and world.actions()[-1] == "activated"


def test_a_pending_invitation_is_polled_again_later(world: World) -> None:
    grant_id = invited(world)
    world.expire(timedelta(seconds=60))
    grant = world.grant(grant_id)
    assert grant.status is G.INVITED and grant.next_attempt_at == world.clock.now() + timedelta(seconds=60)
    assert world.expire(timedelta(seconds=30)) == 0  # not due yet


@pytest.mark.parametrize(("change", "reason"), [
    ("rejected", "invitation_invitation_rejected"),
    ("expired", "invitation_invitation_expired"),
    ("withdrawn by an admin", "invitation_gone"),
    ("never accepted within 7 days", "invitation_not_accepted"),
])
def test_an_invitation_that_will_not_be_accepted_ends_the_grant(world: World, change: str, reason: str) -> None:
    grant_id = invited(world)
    if change == "rejected":
        world.atlas.set_status(ORG_ID, ANN.email, MembershipStatus.INVITATION_REJECTED)
    elif change == "expired":
        world.atlas.set_status(ORG_ID, ANN.email, MembershipStatus.INVITATION_EXPIRED)
    elif change == "withdrawn by an admin":
        world.atlas.remove_user(ORG_ID, ANN.email)
    if change == "never accepted within 7 days":
        world.expire(timedelta(days=7))
    else:
        world.expire(timedelta(seconds=60))
    grant = world.grant(grant_id)
    assert grant.status is G.REVOKED and world.audit("revoked")[0].detail["reason"] == reason
    assert world.atlas.status(ORG_ID, ANN.email) in (None, MembershipStatus.INVITATION_REJECTED,
                                                     MembershipStatus.INVITATION_EXPIRED)
    assert world.roles() == set()


# --- failures ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("method", ["grant", "grant_change"])
def test_a_failed_grant_is_retried_after_a_back_off_without_a_dm(world: World, kind: str, method: str) -> None:
    # given Atlas fails the grant's look-up ("grant") or its change after the look-up ("grant_change") with `kind`
    world.gateway.faults.fail_next(kind, method=method)
    # when the request is approved
    grant = world.approved()
    # then the grant waits for its retry, says why, and the requester hears nothing yet
    now = world.clock.now()
    assert grant.status is G.GRANTING and grant.last_error and world.roles() == set()
    assert grant.attempts == 1
    # a failed look-up took no baseline (Atlas unchanged: the next attempt looks again); after it, it is kept
    assert (grant.baseline_at is None) is (method == "grant")
    assert grant.next_attempt_at is not None
    assert now + timedelta(seconds=1) <= grant.next_attempt_at <= now + timedelta(seconds=2)
    assert world.notifier.told(grant.request_id) == ["requested", "approved"]
    assert world.audit("grant_retry")[0].detail["attempt"] == 1
    message = world.notifier.message(grant.request_id)
    assert message is not None and message.grant is not None and message.grant.last_error  # type: ignore[union-attr]
    # and once the back-off has passed it is granted
    world.expire(timedelta(seconds=2))
    assert world.grant_of(grant.request_id).status is G.ACTIVE and world.roles() == {READ}


@pytest.mark.parametrize(("failing", "ending"), [
    ("grant_change", ["grant_failed", "revoked"]),  # past its look-up it may have landed: undone by a revocation
    ("grant", ["grant_retry", "grant_failed"]),  # every look-up failed: nothing in Atlas, it ends there
])
def test_granting_gives_up_after_max_attempts_and_undoes_what_it_may_have_done(
        world: World, failing: str, ending: list[str]) -> None:
    world.gateway.faults.fail_always("unreachable", method=failing)
    grant = world.approved()
    for _ in range(OPTIONS.max_grant_attempts):
        world.expire(timedelta(seconds=OPTIONS.backoff_cap_seconds))
    ended = world.grant_of(grant.request_id)
    assert ended.status is G.REVOKED and ended.granted_at is None
    assert world.actions(grant.request_id)[-2:] == ending
    assert not world.gateway.calls_to("revoke") if failing == "grant" else world.gateway.calls_to("revoke")
    assert len(world.audit("grant_retry")) == OPTIONS.max_grant_attempts - 1
    assert world.notifier.told(grant.request_id) == ["requested", "approved", "grant_failed"]  # no "revoked" DM


def test_an_attempt_whose_answer_was_lost_is_credited_on_the_next(world: World) -> None:
    # given the grant reaches Atlas but its answer is lost
    world.gateway.faults.fail_next("unreachable", method="grant", landed=True)
    grant = world.approved(roles=(READ,))
    assert grant.status is G.GRANTING and world.roles() == {READ}
    # when it is retried, Atlas finds nothing to add, yet the grant is credited with what it asked for
    world.expire(timedelta(seconds=2))
    retried = world.grant_of(grant.request_id)
    assert (retried.status, retried.added_roles, retried.added_user, retried.baseline_roles) == (
        G.ACTIVE, (READ,), True, ())
    # so its expiry takes it all back
    world.expire(H)
    assert world.roles() == set()


def test_the_bots_own_identity_is_never_granted_anything() -> None:
    # given someone whose Slack email is the identity the bot calls Atlas as
    world = World(flows=[flow(requesters=["everyone"])])
    world.directory.add_user("U0SELF", BOT)
    grant = world.approved(who=Requester(user_id="U0SELF", email=BOT))
    for _ in range(OPTIONS.max_grant_attempts + OPTIONS.alert_after_attempts):
        world.expire(timedelta(seconds=OPTIONS.backoff_cap_seconds))
    # then Atlas is never changed: refused before any look-up, granting gives up and the requester hears why
    assert world.atlas.project_roles(PAYMENTS, BOT) == set() and "OWN_IDENTITY" in str(world.audit("grant_failed"))
    assert world.grant_of(grant.request_id).status is G.REVOKED and not world.gateway.calls_to("revoke")
    assert world.notifier.told(grant.request_id)[-1] == "grant_failed"


# --- leases -----------------------------------------------------------------------------------------------------


def test_a_grant_leased_by_another_worker_waits_for_its_lease(world: World) -> None:
    request = world.submit()
    world.gateway.faults.fail_next("unreachable", method="grant")  # keeps the approval from granting it
    world.service.approve(request_id=request.id or 0, user_id=BOB)
    grant = world.grant_of(request.id or 0)
    world.save_grant(grant, next_attempt_at=world.clock.now(), lease_owner="other:1",
                     lease_until=world.clock.now() + timedelta(seconds=30))
    assert world.worker.run_due() == 0 and world.roles() == set()
    world.expire(timedelta(seconds=30))
    assert world.grant_of(request.id or 0).status is G.ACTIVE


def test_a_worker_that_lost_its_grant_to_another_marks_nothing_done(world: World) -> None:
    # given another replica takes the grant over while this worker's Atlas call is on its way
    def takeover(method: str) -> None:
        if method == "grant":
            current = world.grants()[0]
            world.save_grant(current, lease_owner="other:2", lease_until=world.clock.now() + timedelta(minutes=1))

    world.gateway.meanwhile = takeover
    grant = world.approved()
    # then this worker's outcome is not saved over the other's: the grant is as the other replica left it
    assert grant.status is G.GRANTING and grant.lease_owner == "other:2"
    assert world.audit("granted") == []


def test_a_crew_of_threads_revokes_a_burst_of_expiries_once_each() -> None:
    world = World(options=replace(OPTIONS, concurrency=3))
    people = world.people_granted(12)
    world.expire(H)
    assert {g.status for g in world.grants()} == {G.REVOKED}
    assert len(world.audit("revoked")) == len(people)
    assert all(world.atlas.project_roles(PAYMENTS, g.username) == set() for g in people)




def test_an_approval_stored_whose_grant_was_never_claimed_is_granted_once_by_the_next_sweep(world: World) -> None:
    # given a process that died right after the approval's transaction, before its worker claimed the grant: the
    # state the approval's own transaction leaves (the request APPROVED, its grant GRANTING, unleased, attempt 0)
    request = world.submit()
    world.atlas.add_user(ORG_ID, ANN.email, project_roles={PAYMENTS: {DATA_READ}})
    with world.store.unit_of_work() as uow:
        stored = uow.requests.get(request.id or 0)
        assert stored is not None
        approved = uow.requests.save(lifecycle.approve(stored, user_id=BOB, now=world.clock.now()))
        uow.grants.add(lifecycle.new_grant_for(approved, username=ANN.email, now=world.clock.now()))
    # when the next process sweeps
    assert world.worker.run_due() == 1
    # then it is granted once, with the baseline the person had
    grant = world.grant_of(request.id or 0)
    assert grant.status is G.ACTIVE and grant.baseline_roles == (DATA_READ,) and world.roles() == {READ, DATA_READ}
    assert world.actions(request.id).count("granted") == 1 and world.worker.run_due() == 0

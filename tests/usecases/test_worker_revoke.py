"""The grant worker, revoking: at expiry the roles the grant added go, the baseline and roles other live grants
need stay, a user the grant added leaves; failures of every GatewayError kind are retried with a growing back-off
for ever, the owners are alerted once after a few; a lost answer is never a second removal; leases hold."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta

import pytest

from access.entities import AuditEvent
from access.errors import StoreUnavailable
from access.grant_records import FinishesMovedOn, GrantRecords, PendingFinish
from access.model import GrantStatus
from access.ports import StaleWrite
from access.worker import GrantWorker
from tests.fakes.faults import KINDS
from tests.usecases.world import ANN, DATA_READ, DATA_WRITE, OPTIONS, ORG_ID, PAYMENTS, READ, World, flow

G = GrantStatus
H = timedelta(hours=1)


def nothing(world: World) -> None:
    return None


def reads_already(world: World) -> None:
    world.atlas.set_project_roles(PAYMENTS, ANN.email, [READ])


def another_grant_of_read(world: World) -> None:
    world.approved(roles=(READ,), duration=5 * H)


def left_the_org(world: World) -> None:
    world.atlas.remove_user(ORG_ID, ANN.email)


def role_taken_by_hand(world: World) -> None:
    world.atlas.set_project_roles(PAYMENTS, ANN.email, [])


def own_role_taken_by_hand(world: World) -> None:
    world.atlas.set_project_roles(PAYMENTS, ANN.email, [DATA_READ])


@dataclass(frozen=True)
class RevokeCase:
    name: str
    before: Callable[[World], None]  # before the grant
    meanwhile: Callable[[World], None]  # while it is live
    roles: tuple[str, ...]
    after: set[str]  # her roles on payments once it expired
    removed: list[str]
    removed_user: bool
    kept_by_others: tuple[str, ...] = ()
    in_org: bool = True


REVOKE_CASES = [
    RevokeCase("a user the grant added leaves the project", nothing, nothing, (READ, DATA_READ), set(),
               [DATA_READ, READ], True),
    RevokeCase("what she read before stays", reads_already, nothing, (READ, DATA_READ), {READ}, [DATA_READ], False),
    RevokeCase("a role another live grant needs stays", nothing, another_grant_of_read, (READ, DATA_READ), {READ},
               [DATA_READ], False, kept_by_others=(READ,)),
    RevokeCase("she left the organization meanwhile: done", nothing, left_the_org, (READ,), set(), [], False,
               in_org=False),
    RevokeCase("an admin took the role meanwhile: done", reads_already, role_taken_by_hand, (DATA_READ,), set(), [],
               False),
    RevokeCase("her own role was taken by hand: she leaves the project", reads_already, own_role_taken_by_hand,
               (DATA_READ,), set(), [DATA_READ], True),
]


@pytest.mark.parametrize("case", REVOKE_CASES, ids=lambda c: c.name)
def test_at_expiry_the_grant_is_revoked_and_the_rest_kept(world: World, case: RevokeCase) -> None:
    # given ann's grant, what she held before it, and what changed while it was live
    case.before(world)
    grant = world.approved(roles=case.roles, duration=2 * H)
    case.meanwhile(world)
    # when its time is up
    world.expire(2 * H)
    # then it is revoked, Atlas keeps what it should, and the audit trail and ann say so
    revoked = world.grant(grant.id or 0)
    assert (revoked.status, revoked.revoked_at, revoked.lease_owner) == (G.REVOKED, world.clock.now(), None)
    assert world.roles() == case.after and world.has_user() is case.in_org
    row = [e for e in world.audit("revoked") if e.grant_id == grant.id][0]
    assert (row.detail["reason"], row.detail["removed"], row.detail["removed_user"]) == (
        "expired", case.removed, case.removed_user)
    [told] = [e for e in world.notifier.dms(ANN.user_id) if e.event == "revoked" and e.grant and e.grant.id == grant.id]
    assert told.kept_by_other_grants == case.kept_by_others


def test_nothing_is_revoked_before_its_time(world: World) -> None:
    grant = world.approved(duration=2 * H)
    assert world.expire(2 * H - timedelta(seconds=1)) == 0
    assert world.grant(grant.id or 0).status is G.ACTIVE and world.roles() == {READ}
    assert world.expire(timedelta(seconds=1)) == 1 and world.roles() == set()


def test_the_later_of_two_grants_keeps_the_role_until_it_ends(world: World) -> None:
    short = world.approved(roles=(READ,), duration=H)
    long = world.approved(roles=(READ, DATA_READ), duration=3 * H)
    world.expire(H)
    assert world.grant(short.id or 0).status is G.REVOKED and world.roles() == {READ, DATA_READ}
    world.expire(2 * H)
    assert world.grant(long.id or 0).status is G.REVOKED and world.roles() == set()


def test_two_grants_of_one_person_expiring_together_in_a_crew_take_both_roles_away() -> None:
    # given a crew of threads, whose claim takes both of ann's grants on payments at once
    world = World(options=replace(OPTIONS, concurrency=3))
    first = world.approved(roles=(READ,), duration=H)
    second = world.approved(roles=(READ, DATA_READ), duration=H)
    # when both expire at the same moment
    world.expire(H)
    # then both are revoked, and she holds nothing there: neither kept the role for the other one
    assert {world.grant(g.id or 0).status for g in (first, second)} == {G.REVOKED}
    assert world.roles() == set()


@pytest.mark.parametrize("handed_back", [False, True])
def test_a_crew_threads_finish_is_committed_once_by_the_dispatcher_or_else_by_the_thread(handed_back: bool) -> None:
    # given a crew of threads, whose finishes the dispatcher commits in its own transaction
    world = World(options=replace(OPTIONS, concurrency=3))
    grant = world.approved(roles=(READ,), duration=H)
    if handed_back:  # the database goes away for the one commit that follows the removal in Atlas: the dispatcher's
        world.gateway.meanwhile = lambda method: world.store.fail_commits(
            StoreUnavailable("the database went away")) if method == "revoke" else None
    # when it expires
    world.expire(H)
    # then it is revoked once, with one audit row and one message, whoever committed its finish
    assert world.grant(grant.id or 0).status is G.REVOKED and world.roles() == set()
    assert len(world.gateway.calls_to("revoke")) == 1 and len(world.audit("revoked")) == 1
    assert world.notifier.told(grant.request_id).count("revoked") == 1


def test_two_replicas_revoking_one_persons_two_grants_at_once_take_the_shared_role_away() -> None:
    # given ann's two grants on payments, both giving READ, expiring together, and two replicas working one each
    world = World(options=replace(OPTIONS, concurrency=1))
    first = world.approved(roles=(READ, DATA_READ), duration=H)
    second = world.approved(roles=(READ,), duration=H)
    other = GrantWorker(store=world.store, gateways=world.gateways, notifier=world.notifier, clock=world.clock,
                        options=replace(OPTIONS, owner="replica-b", concurrency=1), vault=world.vault)
    meanwhile: list[str] = []

    def other_replica_revokes(method: str) -> None:
        if method == "revoke" and not meanwhile:  # while the first's removal is out, the other takes the second
            meanwhile.append(method)
            other.run_due()

    world.gateway.meanwhile = other_replica_revokes
    # when both expire, one replica revoking the first while the other revokes the second
    world.expire(H)
    # then neither kept READ for the other, which was ending too: she holds nothing there
    assert meanwhile and {world.grant(g.id or 0).status for g in (first, second)} == {G.REVOKED}
    assert world.roles() == set()


# --- failures ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_failed_revocation_is_retried_until_it_goes_through(world: World, kind: str) -> None:
    grant = world.approved()
    world.gateway.faults.fail_next(kind, method="revoke")
    world.expire(H)
    failed = world.grant(grant.id or 0)
    now = world.clock.now()
    assert (failed.status, failed.attempts) == (G.FAILED, 1) and failed.last_error and world.roles() == {READ}
    assert failed.next_attempt_at is not None
    assert now + timedelta(seconds=1) <= failed.next_attempt_at <= now + timedelta(seconds=2)
    assert world.notifier.told(grant.request_id)[-1] == "granted"  # no DM about the failure
    world.expire(timedelta(seconds=2))
    assert world.grant(grant.id or 0).status is G.REVOKED and world.roles() == set()
    assert world.actions(grant.request_id)[-2:] == ["revoke_failed", "revoked"]


def test_retries_back_off_more_each_time_up_to_the_cap_and_the_owners_hear_once(world: World) -> None:
    grant = world.approved()
    world.gateway.faults.fail_always("rate_limited", method="revoke")
    world.expire(H)
    for attempt in range(1, 12):
        current = world.grant(grant.id or 0)
        ceiling = min(OPTIONS.backoff_cap_seconds, OPTIONS.backoff_base_seconds * 2 ** (attempt - 1))
        wait = ((current.next_attempt_at or world.clock.now()) - world.clock.now()).total_seconds()
        assert current.attempts == attempt and ceiling / 2 <= wait <= ceiling
        assert current.alerted is (attempt >= OPTIONS.alert_after_attempts)
        world.expire(timedelta(seconds=wait))
    assert len(world.notifier.alerts()) == 1 and "has failed 3 times" in world.notifier.alerts()[0].text
    world.gateway.faults.clear()
    world.expire(timedelta(seconds=OPTIONS.backoff_cap_seconds))
    assert world.grant(grant.id or 0).status is G.REVOKED and world.roles() == set()


def test_a_removal_whose_answer_was_lost_is_not_sent_twice(world: World) -> None:
    world.atlas.set_project_roles(PAYMENTS, ANN.email, [READ])
    grant = world.approved(roles=(READ, DATA_READ))
    world.gateway.faults.fail_next("unreachable", method="revoke", landed=True)
    world.expire(H)
    assert world.grant(grant.id or 0).status is G.FAILED and world.roles() == {READ}  # it landed
    world.atlas.set_project_roles(PAYMENTS, ANN.email, [READ, DATA_WRITE])  # an admin adds a role meanwhile
    world.expire(timedelta(seconds=2))
    assert world.grant(grant.id or 0).status is G.REVOKED and world.roles() == {READ, DATA_WRITE}
    assert world.audit("revoked")[0].detail["removed"] == []


def test_a_grant_leased_by_a_worker_that_died_is_revoked_once_the_lease_runs_out(world: World) -> None:
    grant = world.approved()
    world.clock.advance(H)
    world.save_grant(world.grant(grant.id or 0), status=G.REVOKING, next_attempt_at=world.clock.now(),
                     lease_owner="dead:1", lease_until=world.clock.now() + timedelta(seconds=60))
    assert world.worker.run_due() == 0 and world.roles() == {READ}
    with world.store.unit_of_work() as uow:
        assert uow.grants.next_due_at() == world.clock.now() + timedelta(seconds=60)
    world.expire(timedelta(seconds=60))
    assert world.grant(grant.id or 0).status is G.REVOKED and world.roles() == set()


def test_an_organization_grant_leaves_org_member() -> None:
    world = World(flows=[flow(name="prod-org", resources={"types": ["organization"]},
                              roles=["ORG_READ_ONLY", "ORG_BILLING_READ_ONLY"])])
    grant = world.approved(resource=ORG_ID, roles=("ORG_READ_ONLY", "ORG_BILLING_READ_ONLY"), by="U0DAN")
    world.expire(H)
    assert world.grant(grant.id or 0).status is G.REVOKED and world.roles(resource=ORG_ID) == {"ORG_MEMBER"}


def test_access_that_fell_due_while_no_worker_ran_is_revoked_by_the_first_sweep(world: World) -> None:
    grants = [world.approved(roles=(role,), duration=hours * H) for role, hours in ((READ, 1), (DATA_READ, 2))]
    world.clock.advance(days=3)  # the bot was down
    assert world.worker.run_due() == 2
    assert {world.grant(g.id or 0).status for g in grants} == {G.REVOKED} and world.roles() == set()


@pytest.mark.parametrize("prompt", [True, False])
def test_a_sweep_nobody_waits_on_has_the_crews_finishes_share_the_next_claims_transaction(prompt: bool) -> None:
    # given twelve people's grants expiring together, a crew of as many threads, and an Atlas that answers their
    # removals one by one, 30 ms apart
    world = World(options=replace(OPTIONS, concurrency=12))
    people = world.people_granted(12)
    world.clock.advance(H)
    answered = itertools.count(1)
    world.gateway.meanwhile = lambda method: time.sleep(0.03 * next(answered)) if method == "revoke" else None
    before = world.store.commits
    # when a timer's sweep (prompt=False: nobody waits on its outcome) or a prompt caller works them
    assert world.worker.run_due(prompt=prompt) == len(people)
    # then each is revoked once, with its audit row and its message
    assert {g.status for g in world.grants()} == {G.REVOKED} and len(world.audit("revoked")) == len(people)
    assert all(world.notifier.told(g.request_id).count("revoked") == 1 for g in world.grants())
    # and a sweep's finishes went in with the claims, a tick's worth at a time: a few transactions, where one each
    # (the prompt caller's way) would be twelve
    if not prompt:
        assert world.store.commits - before <= len(people) // 2


def test_finishes_written_together_refuse_as_one_when_a_grant_moved_on_and_one_by_one_leave_only_that_one() -> None:
    # given three ended grants' finishes, one of whose grants another replica took over meanwhile
    world = World()
    grants = [world.approved(duration=n * H) for n in (1, 2, 3)]
    ended = [replace(g, status=G.REVOKED, revoked_at=world.clock.now()) for g in grants]
    world.save_grant(grants[1], lease_owner="other:2")
    pending = [PendingFinish(grant=g, since=stored, request=None, event=AuditEvent(
        at=world.clock.now(), actor="system", action="revoked", grant_id=g.id, request_id=g.request_id))
        for g, stored in zip(ended, grants, strict=True)]
    # when the dispatcher writes them together, the transaction is refused as a whole (and left: nothing stays)
    with pytest.raises(FinishesMovedOn), world.store.unit_of_work() as uow:
        GrantRecords.write(uow, pending, together=True)
    assert [world.grant(g.id or 0).status for g in grants] == [G.ACTIVE] * 3 and world.audit("revoked") == []
    # then written one by one, the two others are saved with their audit rows; the one that moved on is left
    with world.store.unit_of_work() as uow:
        GrantRecords.write(uow, pending)
    assert [world.grant(g.id or 0).status for g in grants] == [G.REVOKED, G.ACTIVE, G.REVOKED]
    assert isinstance(pending[1].error, StaleWrite) and pending[1].saved is None
    assert [e.grant_id for e in world.audit("revoked")] == [grants[0].id, grants[2].id]
    assert all(p.request is not None for p in (pending[0], pending[2]))


def test_a_crews_finishes_written_together_where_one_grant_moved_on_commit_the_others() -> None:
    # given three people's grants expiring together, a crew of three, and another replica taking one of them over
    # while Atlas removes the roles
    world = World(options=replace(OPTIONS, concurrency=3))
    taken, *others = people = world.people_granted(3)
    world.clock.advance(H)
    moved: list[str] = []

    def take_over(method: str) -> None:
        if method == "revoke" and not moved:
            moved.append(method)
            world.save_grant(world.grant(taken.id or 0), lease_owner="other:2")

    world.gateway.meanwhile = take_over
    # when a sweep works them: their finishes go to the dispatcher together, and one of them is stale (the sweep
    # would hear the dispatcher's failure if that stopped it)
    assert world.worker.run_due(prompt=False) == len(people)
    # then the other two are revoked once, with their audit rows and messages; the taken one is the other's now
    assert [world.grant(g.id or 0).status for g in others] == [G.REVOKED, G.REVOKED]
    assert world.grant(taken.id or 0).lease_owner == "other:2" and world.grant(taken.id or 0).status is G.REVOKING
    assert sorted(e.grant_id or 0 for e in world.audit("revoked")) == sorted(g.id or 0 for g in others)
    assert all(world.notifier.told(g.request_id).count("revoked") == 1 for g in others)

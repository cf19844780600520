"""The Store contract, part one: units of work, requests and grants, run on the MemoryStore and on SqlStore
(SQLite and PostgreSQL). What the use cases rely on: transactions, compare-and-set, unique keys, the claim."""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from datetime import UTC, timedelta, timezone

import pytest

from access import lifecycle
from access.entities import AccessRequest, AuditEvent, Grant
from access.model import GrantStatus, RequestStatus, ResourceKind
from access.ports import Duplicate, StaleWrite
from tests.contracts.worlds import StoreWorld
from tests.storage import builders as b

G = GrantStatus
T0 = b.T0


def add_request(world: StoreWorld, **changes: object) -> AccessRequest:
    with world.store.unit_of_work() as uow:
        return uow.requests.add(b.request(**changes))


def add_grant(world: StoreWorld, **changes: object) -> Grant:
    request = add_request(world)
    with world.store.unit_of_work() as uow:
        return uow.grants.add(b.grant(request_id=request.id or 0, **changes))


def get_request(world: StoreWorld, request_id: int) -> AccessRequest | None:
    with world.store.unit_of_work() as uow:
        return uow.requests.get(request_id)


def get_grant(world: StoreWorld, grant_id: int) -> Grant | None:
    with world.store.unit_of_work() as uow:
        return uow.grants.get(grant_id)


def audit_actions(world: StoreWorld) -> list[str]:
    with world.store.unit_of_work() as uow:
        return [e.action for e in uow.audit.query()]


def event(action: str, **changes: object) -> AuditEvent:
    return AuditEvent(**{"at": T0, "actor": "U1", "action": action, "integration": "prod", **changes})  # type: ignore[arg-type]


class Boom(Exception):
    pass


# --- units of work ---------------------------------------------------------------------------------------------


def test_a_unit_of_work_commits_when_its_block_ends(store_world: StoreWorld) -> None:
    with store_world.store.unit_of_work() as uow:
        uow.audit.add(event("one"))
    assert audit_actions(store_world) == ["one"]


def test_an_exception_rolls_the_whole_block_back(store_world: StoreWorld) -> None:
    with pytest.raises(Boom), store_world.store.unit_of_work() as uow:
        added = uow.requests.add(b.request())
        uow.audit.add(event("lost"))
        raise Boom
    assert get_request(store_world, added.id or 0) is None and audit_actions(store_world) == []


def test_commit_inside_the_block_keeps_that_work_when_the_block_then_fails(store_world: StoreWorld) -> None:
    with pytest.raises(Boom), store_world.store.unit_of_work() as uow:
        uow.audit.add(event("kept"))
        uow.commit()
        uow.audit.add(event("lost"))
        raise Boom
    assert audit_actions(store_world) == ["kept"]


def test_another_unit_of_work_never_sees_work_rolled_back(store_world: StoreWorld) -> None:
    seen: list[list[str]] = []
    started = threading.Event()

    def look() -> None:
        started.wait(5)
        seen.append(audit_actions(store_world))

    reader = threading.Thread(target=look)
    reader.start()
    with pytest.raises(Boom), store_world.store.unit_of_work() as uow:
        uow.audit.add(event("never"))
        started.set()
        raise Boom
    reader.join()
    assert seen == [[]]


def test_a_unit_of_work_opened_inside_another_on_one_thread_is_refused(store_world: StoreWorld) -> None:
    if store_world.kind == "postgres":
        pytest.skip("PostgreSQL serves a nested unit of work as a separate transaction; SQLite cannot")
    with store_world.store.unit_of_work(), pytest.raises(RuntimeError, match="inside another"), \
            store_world.store.unit_of_work():
        pass


def test_units_of_work_on_two_threads_both_commit(store_world: StoreWorld) -> None:
    def write(action: str) -> None:
        with store_world.store.unit_of_work() as uow:
            uow.audit.add(event(action))

    threads = [threading.Thread(target=write, args=(f"t{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(audit_actions(store_world)) == ["t0", "t1", "t2", "t3"]


def test_ping_says_the_store_answers(store_world: StoreWorld) -> None:
    assert store_world.store.ping() is True


# --- requests ----------------------------------------------------------------------------------------------------


def test_a_request_comes_back_exactly_with_its_id_and_version_1(store_world: StoreWorld) -> None:
    original = b.full_request()
    with store_world.store.unit_of_work() as uow:
        added = uow.requests.add(original)
    assert added.id is not None and added.version == 1
    assert get_request(store_world, added.id) == dataclasses.replace(original, id=added.id, version=1)


def test_datetimes_come_back_as_the_same_instant_in_utc(store_world: StoreWorld) -> None:
    later = T0.astimezone(timezone(timedelta(hours=-5)))
    loaded = get_request(store_world, add_request(store_world, created_at=later).id or 0)
    assert loaded is not None and loaded.created_at == T0 and loaded.created_at.tzinfo is UTC


def test_a_save_is_a_compare_and_set_on_the_version(store_world: StoreWorld) -> None:
    added = add_request(store_world)
    with store_world.store.unit_of_work() as uow:
        saved = uow.requests.save(dataclasses.replace(added, justification="edited"))
    assert saved.version == 2
    with pytest.raises(StaleWrite), store_world.store.unit_of_work() as uow:
        uow.requests.save(dataclasses.replace(added, justification="stale"))  # read at version 1
    assert get_request(store_world, added.id or 0) == saved


def test_saving_a_request_never_added_is_a_stale_write(store_world: StoreWorld) -> None:
    with pytest.raises(StaleWrite), store_world.store.unit_of_work() as uow:
        uow.requests.save(b.request(id=None))
    with pytest.raises(StaleWrite), store_world.store.unit_of_work() as uow:
        uow.requests.save(b.request(id=4040, version=1))


@pytest.mark.parametrize("key", ["submission_key", "pending_key"])
def test_a_second_request_with_a_once_only_key_is_a_duplicate_and_its_unit_of_work_is_left(
        store_world: StoreWorld, key: str) -> None:
    # given a stored request holding the key
    first = add_request(store_world, **{key: "K1"})
    # when another is added with the same key, in a unit of work that also wrote an audit row
    with pytest.raises(Duplicate), store_world.store.unit_of_work() as uow:
        uow.audit.add(event("with the duplicate"))
        uow.requests.add(b.request(requester_id="U0OTHER", **{key: "K1"}))
    # then nothing of that unit of work is stored
    with store_world.store.unit_of_work() as uow:
        assert [r.id for r in uow.requests.for_requester("U0OTHER")] == []
        assert uow.requests.get(first.id or 0) == first
    assert audit_actions(store_world) == []


def test_requests_without_keys_never_collide(store_world: StoreWorld) -> None:
    for _ in range(3):
        add_request(store_world)
    with store_world.store.unit_of_work() as uow:
        assert len(uow.requests.for_requester("U0REQUESTER")) == 3


def test_a_decided_request_frees_its_pending_key(store_world: StoreWorld) -> None:
    first = add_request(store_world, pending_key="P1")
    with store_world.store.unit_of_work() as uow:
        uow.requests.save(dataclasses.replace(first, status=RequestStatus.CANCELLED, pending_key=None))
    second = add_request(store_world, pending_key="P1")
    assert second.id != first.id


def test_by_submission_key(store_world: StoreWorld) -> None:
    added = add_request(store_world, submission_key="V0VIEW")
    with store_world.store.unit_of_work() as uow:
        assert uow.requests.by_submission_key("V0VIEW") == added
        assert uow.requests.by_submission_key("V0OTHER") is None


def test_several_requests_by_id_in_one_read(store_world: StoreWorld) -> None:
    first, second = add_request(store_world), add_request(store_world, requester_id="U9")
    with store_world.store.unit_of_work() as uow:
        found = uow.requests.get_many([second.id or 0, first.id or 0, second.id or 0, 999_999])
        assert found == {first.id: first, second.id: second}
        assert uow.requests.get_many([]) == {}


def test_the_items_of_a_request_of_several_resources_by_id(store_world: StoreWorld) -> None:
    ends = T0 + timedelta(hours=1)
    first = add_request(store_world, group_id="g1", group_part=0, ends_at=ends)
    add_request(store_world)  # alone
    second = add_request(store_world, group_id="g1", group_part=1, ends_at=ends)
    with store_world.store.unit_of_work() as uow:
        assert uow.requests.in_group("g1") == [first, second]
        assert uow.requests.in_group("g2") == []
        assert [r.ends_at for r in uow.requests.in_group("g1")] == [ends, ends]


def test_a_requesters_requests_newest_first_up_to_the_limit(store_world: StoreWorld) -> None:
    made = [add_request(store_world, created_at=T0 + timedelta(minutes=m)) for m in (2, 0, 1)]
    same_time = add_request(store_world, created_at=T0 + timedelta(minutes=2))  # ties: the later id first
    add_request(store_world, requester_id="U0OTHER")
    with store_world.store.unit_of_work() as uow:
        mine = uow.requests.for_requester("U0REQUESTER", limit=3)
    assert [r.id for r in mine] == [same_time.id, made[0].id, made[2].id]


def test_pending_requests_oldest_first_and_per_person(store_world: StoreWorld) -> None:
    late = add_request(store_world, created_at=T0 + timedelta(minutes=5))
    early = add_request(store_world, created_at=T0)
    add_request(store_world, status=RequestStatus.APPROVED)
    other = add_request(store_world, requester_id="U0OTHER", created_at=T0 + timedelta(minutes=1))
    with store_world.store.unit_of_work() as uow:
        assert [r.id for r in uow.requests.pending()] == [early.id, other.id, late.id]
        assert [r.id for r in uow.requests.pending(limit=2)] == [early.id, other.id]
        assert [r.id for r in uow.requests.pending_for("U0REQUESTER")] == [early.id, late.id]
        assert [r.id for r in uow.requests.pending_for("U0REQUESTER", limit=1)] == [early.id]


# --- grants ------------------------------------------------------------------------------------------------------


def test_a_grant_comes_back_exactly_by_id_and_by_request(store_world: StoreWorld) -> None:
    request = add_request(store_world)
    original = b.full_grant(request.id or 0)
    with store_world.store.unit_of_work() as uow:
        added = uow.grants.add(original)
    with store_world.store.unit_of_work() as uow:
        assert uow.grants.get(added.id or 0) == uow.grants.for_request(request.id or 0) == dataclasses.replace(
            original, id=added.id, version=1)
        assert uow.grants.for_request(4040) is None


def test_a_grant_save_is_a_compare_and_set(store_world: StoreWorld) -> None:
    grant = add_grant(store_world)
    with store_world.store.unit_of_work() as uow:
        saved = uow.grants.save(dataclasses.replace(grant, status=G.ACTIVE))
    with pytest.raises(StaleWrite), store_world.store.unit_of_work() as uow:
        uow.grants.save(dataclasses.replace(grant, status=G.FAILED))
    assert get_grant(store_world, grant.id or 0) == saved and saved.version == 2


def test_several_grant_saves_at_once_each_a_compare_and_set(store_world: StoreWorld) -> None:
    first, second, third = add_grant(store_world), add_grant(store_world), add_grant(store_world)
    moved = [dataclasses.replace(first, status=G.REVOKING, next_attempt_at=T0),
             dataclasses.replace(second, status=G.REVOKING, next_attempt_at=T0),
             dataclasses.replace(third, last_error="boom")]  # another set of columns: a statement of its own
    with store_world.store.unit_of_work() as uow:
        saved = uow.grants.save_many(list(zip(moved, [first, second, third], strict=True)))
    assert saved == [dataclasses.replace(g, version=2) for g in moved]
    assert [get_grant(store_world, g.id or 0) for g in moved] == saved
    # one of them moved on meanwhile: the whole unit of work is refused and leaves both as they were
    with store_world.store.unit_of_work() as uow:
        uow.grants.save(dataclasses.replace(saved[1], last_error="elsewhere"))
    again = [dataclasses.replace(g, status=G.REVOKED) for g in saved[:2]]
    with pytest.raises(StaleWrite), store_world.store.unit_of_work() as uow:
        uow.grants.save_many(list(zip(again, saved[:2], strict=True)))
    assert get_grant(store_world, first.id or 0) == saved[0]
    assert (get_grant(store_world, second.id or 0) or saved[1]).last_error == "elsewhere"


def test_several_grant_saves_at_once_with_or_without_the_grant_as_stored(store_world: StoreWorld) -> None:
    # without it every column is written, as save() without `since` does; each is still a compare-and-set
    first, second = add_grant(store_world), add_grant(store_world)
    ended = [dataclasses.replace(g, status=G.REVOKED, revoked_at=T0, lease_owner=None) for g in (first, second)]
    with store_world.store.unit_of_work() as uow:
        saved = uow.grants.save_many([(ended[0], None), (ended[1], second)])
    assert saved == [dataclasses.replace(g, version=2) for g in ended]
    assert [get_grant(store_world, g.id or 0) for g in ended] == saved
    with pytest.raises(StaleWrite), store_world.store.unit_of_work() as uow:
        uow.grants.save_many([(dataclasses.replace(ended[0], last_error="late"), None)])  # version 1: moved on
    assert get_grant(store_world, first.id or 0) == saved[0]


@pytest.mark.parametrize("case", ["no such request", "a second grant for one request"])
def test_a_grant_needs_its_request_and_is_its_only_one(store_world: StoreWorld, case: str) -> None:
    request = add_request(store_world)
    if case == "a second grant for one request":
        with store_world.store.unit_of_work() as uow:
            uow.grants.add(b.grant(request_id=request.id or 0))
    request_id = 4040 if case == "no such request" else request.id or 0
    with pytest.raises(Exception), store_world.store.unit_of_work() as uow:  # noqa: B017 - the driver's own error
        uow.grants.add(b.grant(request_id=request_id, username="second@example.com"))
    with store_world.store.unit_of_work() as uow:
        assert uow.grants.live_for(username="second@example.com", resource_id=b.request().resource_id) == []


def test_a_grant_saved_since_its_stored_state_writes_what_changed_and_is_a_compare_and_set(
        store_world: StoreWorld) -> None:
    request = add_request(store_world)
    with store_world.store.unit_of_work() as uow:
        stored = uow.grants.add(b.full_grant(request.id or 0))
    changed = dataclasses.replace(stored, status=G.REVOKED, lease_owner=None, roles=("a", "b"), last_error=None)
    with store_world.store.unit_of_work() as uow:
        saved = uow.grants.save(changed, since=stored)
    assert saved == dataclasses.replace(changed, version=2) and get_grant(store_world, stored.id or 0) == saved
    with pytest.raises(StaleWrite), store_world.store.unit_of_work() as uow:  # the version read is gone
        uow.grants.save(dataclasses.replace(stored, status=G.FAILED), since=stored)
    assert get_grant(store_world, stored.id or 0) == saved


def test_live_grants_of_one_person_on_one_resource(store_world: StoreWorld) -> None:
    made = {status: add_grant(store_world, status=status) for status in GrantStatus}
    add_grant(store_world, username="bob@example.com")
    add_grant(store_world, resource_id="6a0000000000000000000002")
    with store_world.store.unit_of_work() as uow:
        live = uow.grants.live_for(username="ada@example.com", resource_id=b.request().resource_id)
    assert [g.id for g in live] == [made[s].id for s in GrantStatus if s is not G.REVOKED]


def test_live_grants_of_several_people_and_resources_in_one_read(store_world: StoreWorld) -> None:
    resource, other = b.request().resource_id, "6a0000000000000000000002"
    made = {status: add_grant(store_world, status=status) for status in GrantStatus}
    bobs = add_grant(store_world, username="bob@example.com", resource_id=other)
    add_grant(store_world, username="bob@example.com")  # bob on the first resource: not asked for
    add_grant(store_world, resource_id=other)  # ada on the other: not asked for
    with store_world.store.unit_of_work() as uow:
        live = uow.grants.live_for_each([("ada@example.com", resource), ("bob@example.com", other),
                                         ("ada@example.com", resource), ("nobody@example.com", resource)])
        assert uow.grants.live_for_each([]) == []
        but = uow.grants.live_for_each([("ada@example.com", resource), ("bob@example.com", other)],
                                       excluding=[made[G.ACTIVE].id or 0, bobs.id or 0, 999])
    assert [g.id for g in live] == sorted([*(made[s].id or 0 for s in GrantStatus if s is not G.REVOKED), bobs.id or 0])
    assert [g.id for g in but] == [made[s].id for s in GrantStatus if s not in (G.REVOKED, G.ACTIVE)]


def test_live_grants_that_put_an_entry_on_a_projects_access_list(store_world: StoreWorld) -> None:
    group, cidr = "6a0000000000000000000009", "34.120.5.7/32"
    on = {"resource_id": f"{group}/orders-db", "network_entry": cidr}
    mine = add_grant(store_world, status=G.ACTIVE, network_added=True, **on)
    theirs = add_grant(store_world, status=G.GRANTING, network_added=True, username="bob@example.com",
                       **{**on, "resource_id": f"{group}/other-db"})
    add_grant(store_world, status=G.ACTIVE, network_added=False, **on)  # it was there before: not theirs
    add_grant(store_world, status=G.REVOKED, network_added=True, **on)
    add_grant(store_world, status=G.ACTIVE, network_added=True, **{**on, "network_entry": "34.120.5.8/32"})
    add_grant(store_world, status=G.ACTIVE, network_added=True, **{**on, "resource_id": "6a0000000000000000000008/x"})
    with store_world.store.unit_of_work() as uow:
        found = uow.grants.live_with_network(group_id=group, cidr=cidr)
    assert [g.id for g in found] == [mine.id, theirs.id]


def test_the_resources_live_grants_are_on_each_once(store_world: StoreWorld) -> None:
    first = add_grant(store_world, status=G.ACTIVE)
    add_grant(store_world, status=G.GRANTING, username="bob@example.com")  # the same resource: once
    add_grant(store_world, status=G.ACTIVE, integration="zstaging", resource_id="6a0000000000000000000002")
    add_grant(store_world, status=G.REVOKED, resource_id="6a0000000000000000000003")  # ended: not live
    with store_world.store.unit_of_work() as uow:
        found = uow.grants.live_resources()
    assert found == [(first.integration, first.resource_id, first.resource_kind),
                     ("zstaging", "6a0000000000000000000002", first.resource_kind)]


def test_live_grants_filtered_and_paged_oldest_first_with_the_count(store_world: StoreWorld) -> None:
    made = {status: add_grant(store_world, status=status) for status in GrantStatus}
    other_place = add_grant(store_world, integration="staging", resource_name="Ledger_2",
                            resource_id="6a0000000000000000000002")
    bob = add_grant(store_world, username="Bob@Example.com", requester_id="U0BOB")
    live = [made[s].id for s in GrantStatus if s is not G.REVOKED]
    with store_world.store.unit_of_work() as uow:
        everything, total = uow.grants.live()
        assert ([g.id for g in everything], total) == ([*live, other_place.id, bob.id], len(live) + 2)
        page, total = uow.grants.live(offset=2, limit=3)
        assert ([g.id for g in page], total) == ([*live, other_place.id, bob.id][2:5], len(live) + 2)
        assert [g.id for g in uow.grants.live(integration="staging")[0]] == [other_place.id]
        assert [g.id for g in uow.grants.live(resource="GER_")[0]] == [other_place.id]  # any case, `_` literal
        assert uow.grants.live(resource="ger%2")[0] == []
        assert [g.id for g in uow.grants.live(person="bob@example.COM")[0]] == [bob.id]
        assert [g.id for g in uow.grants.live(person="U0BOB")[0]] == [bob.id]
        assert uow.grants.live(person="U0BOB", integration="staging") == ([], 0)


def test_a_requesters_grants_by_status_newest_first(store_world: StoreWorld) -> None:
    older = add_grant(store_world, status=G.ACTIVE, created_at=T0)
    newer = add_grant(store_world, status=G.INVITED, created_at=T0 + timedelta(minutes=1))
    add_grant(store_world, status=G.REVOKED)
    add_grant(store_world, status=G.ACTIVE, requester_id="U0OTHER")
    with store_world.store.unit_of_work() as uow:
        found = uow.grants.for_requester("U0REQUESTER", statuses=(G.ACTIVE, G.INVITED))
    assert [g.id for g in found] == [newer.id, older.id]


@dataclass(frozen=True)
class DueCase:
    name: str
    status: GrantStatus
    expires_in: float | None  # seconds from now; None: not set
    next_attempt_in: float | None
    lease_in: float | None = None  # lease_until from now
    due: bool = True


DUE_CASES = [
    DueCase("active and expired", G.ACTIVE, -1, None),
    DueCase("active, expiring this very moment", G.ACTIVE, 0, None),
    DueCase("active, not yet expired", G.ACTIVE, 60, None, due=False),
    DueCase("active without an expiry (never activated)", G.ACTIVE, None, -1, due=False),
    DueCase("active: next_attempt_at does not count", G.ACTIVE, 60, -60, due=False),
    DueCase("invited, poll due", G.INVITED, 3600, -1),
    DueCase("invited, poll not due", G.INVITED, -3600, 30, due=False),
    DueCase("granting due", G.GRANTING, None, 0),
    DueCase("granting later", G.GRANTING, None, 5, due=False),
    DueCase("revoking due", G.REVOKING, -1, -1),
    DueCase("failed, retry due", G.FAILED, -100, -1),
    DueCase("failed, backing off", G.FAILED, -100, 10, due=False),
    DueCase("revoked never", G.REVOKED, -100, -100, due=False),
    DueCase("granting without next_attempt_at", G.GRANTING, None, None, due=False),
    DueCase("due but leased", G.ACTIVE, -1, None, lease_in=30, due=False),
    DueCase("due, lease ended this moment", G.ACTIVE, -1, None, lease_in=0),
    DueCase("due, lease ran out", G.REVOKING, None, -5, lease_in=-1),
]


@pytest.mark.parametrize("case", DUE_CASES, ids=lambda c: c.name)
@pytest.mark.parametrize("kind", [ResourceKind.PROJECT, ResourceKind.CLUSTER])
def test_a_claim_starting_revocations_moves_exactly_the_expired_role_grants(
        store_world: StoreWorld, case: DueCase, kind: ResourceKind) -> None:
    now = store_world.clock.now()
    at = (lambda s: None if s is None else now + timedelta(seconds=s))  # noqa: E731
    grant = add_grant(store_world, status=case.status, resource_kind=kind, expires_at=at(case.expires_in),
                      next_attempt_at=at(case.next_attempt_in), lease_owner="other" if case.lease_in is not None
                      else None, lease_until=at(case.lease_in))
    with store_world.store.unit_of_work() as uow:
        claimed, started = uow.grants.claim_due_starting_revocations(now=now, owner="me", lease_seconds=60,
                                                                     limit=10)
    assert [g.id for g in claimed] == ([grant.id] if case.due else [])
    if not case.due:
        assert started == frozenset() and get_grant(store_world, grant.id or 0) == grant
        return
    leased = dataclasses.replace(grant, lease_owner="me", lease_until=now + timedelta(seconds=60),
                                 version=grant.version + 1)
    starts = case.status is G.ACTIVE and kind is not ResourceKind.CLUSTER
    assert started == ({grant.id} if starts else set())
    assert claimed[0] == (lifecycle.start_revocation(leased, now) if starts else leased)
    assert get_grant(store_world, grant.id or 0) == claimed[0]


def test_a_claim_starting_revocations_keeps_the_oldest_due_first(store_world: StoreWorld) -> None:
    now = store_world.clock.now()
    later = add_grant(store_world, status=G.ACTIVE, expires_at=now - timedelta(seconds=5))
    retry = add_grant(store_world, status=G.REVOKING, next_attempt_at=now - timedelta(seconds=10))
    oldest = add_grant(store_world, status=G.ACTIVE, expires_at=now - timedelta(seconds=50))
    with store_world.store.unit_of_work() as uow:
        first, started = uow.grants.claim_due_starting_revocations(now=now, owner="me", lease_seconds=60, limit=2)
    with store_world.store.unit_of_work() as uow:
        rest, more = uow.grants.claim_due_starting_revocations(now=now, owner="me", lease_seconds=60, limit=2)
    assert [g.id for g in first] == [oldest.id, retry.id] and started == {oldest.id}
    assert [g.id for g in rest] == [later.id] and more == {later.id}
    assert [g.status for g in (*first, *rest)] == [G.REVOKING] * 3


def test_a_live_lease_is_respected_whoever_holds_it(store_world: StoreWorld) -> None:
    now = store_world.clock.now()
    add_grant(store_world, status=G.ACTIVE, expires_at=now)
    with store_world.store.unit_of_work() as uow:
        first, _ = uow.grants.claim_due_starting_revocations(now=now, owner="me", lease_seconds=10, limit=5)
    with store_world.store.unit_of_work() as uow:
        again, _ = uow.grants.claim_due_starting_revocations(now=now + timedelta(seconds=9), owner="me",
                                                             lease_seconds=10, limit=5)
    with store_world.store.unit_of_work() as uow:
        after, _ = uow.grants.claim_due_starting_revocations(now=now + timedelta(seconds=10), owner="you",
                                                             lease_seconds=10, limit=5)
    assert len(first) == 1 and again == [] and [g.lease_owner for g in after] == ["you"]


def test_claims_are_oldest_due_first_and_at_most_the_limit(store_world: StoreWorld) -> None:
    now = store_world.clock.now()
    a = add_grant(store_world, status=G.ACTIVE, expires_at=now - timedelta(seconds=5))
    b_ = add_grant(store_world, status=G.FAILED, next_attempt_at=now - timedelta(seconds=50))
    c = add_grant(store_world, status=G.GRANTING, next_attempt_at=now - timedelta(seconds=5))  # tie: by id
    with store_world.store.unit_of_work() as uow:
        first, _ = uow.grants.claim_due_starting_revocations(now=now, owner="me", lease_seconds=60, limit=2)
    with store_world.store.unit_of_work() as uow:
        rest, _ = uow.grants.claim_due_starting_revocations(now=now, owner="me", lease_seconds=60, limit=2)
    assert [g.id for g in first] == [b_.id, a.id] and [g.id for g in rest] == [c.id]


@pytest.mark.parametrize(("rows", "expected"), [
    ([], None),
    ([(G.ACTIVE, 100, None, None)], 100),
    ([(G.ACTIVE, 100, None, None), (G.GRANTING, None, 40, None)], 40),
    ([(G.REVOKED, 1, 1, None), (G.INVITED, 999, 70, None)], 70),
    ([(G.ACTIVE, 10, None, 30)], 30),  # a live lease past the due moment postpones it
    ([(G.ACTIVE, 10, None, 5)], 10),  # a lease that ends before it does not
    ([(G.GRANTING, None, None, None)], None),
], ids=["nothing", "an expiry", "the earliest", "revoked never counts", "leased", "short lease", "nothing set"])
def test_next_due_at_is_the_earliest_moment_a_claim_would_find_something(
        store_world: StoreWorld, rows: list[tuple[GrantStatus, int | None, int | None, int | None]],
        expected: int | None) -> None:
    at = (lambda s: None if s is None else T0 + timedelta(seconds=s))  # noqa: E731
    for status, expires, attempt, lease in rows:
        add_grant(store_world, status=status, expires_at=at(expires), next_attempt_at=at(attempt),
                  lease_until=at(lease), lease_owner="x" if lease is not None else None)
    with store_world.store.unit_of_work() as uow:
        assert uow.grants.next_due_at() == at(expected)


def test_expiring_grants_soonest_first_without_a_reminder_sent(store_world: StoreWorld) -> None:
    soon = add_grant(store_world, status=G.ACTIVE, expires_at=T0 + timedelta(minutes=5))
    sooner = add_grant(store_world, status=G.ACTIVE, expires_at=T0 + timedelta(minutes=1))
    add_grant(store_world, status=G.ACTIVE, expires_at=T0 + timedelta(minutes=1), reminder_sent_at=T0)
    add_grant(store_world, status=G.ACTIVE, expires_at=T0 + timedelta(hours=2))
    add_grant(store_world, status=G.INVITED, expires_at=T0 + timedelta(minutes=1))
    with store_world.store.unit_of_work() as uow:
        assert [g.id for g in uow.grants.expiring(before=T0 + timedelta(minutes=15), limit=10)] == [sooner.id, soon.id]
        assert [g.id for g in uow.grants.expiring(before=T0 + timedelta(minutes=15), limit=1)] == [sooner.id]


def test_grants_counted_by_status_zero_included(store_world: StoreWorld) -> None:
    add_grant(store_world, status=G.ACTIVE)
    add_grant(store_world, status=G.ACTIVE)
    add_grant(store_world, status=G.FAILED)
    with store_world.store.unit_of_work() as uow:
        counts = uow.grants.count_by_status()
    assert counts == {**dict.fromkeys(GrantStatus, 0), G.ACTIVE: 2, G.FAILED: 1}


def test_the_ledger_reads_an_integrations_grants_by_status_and_age(store_world: StoreWorld) -> None:
    old = add_grant(store_world, status=G.REVOKED, updated_at=T0 - timedelta(days=10))
    new = add_grant(store_world, status=G.REVOKED, updated_at=T0)
    active = add_grant(store_world, status=G.ACTIVE)
    add_grant(store_world, status=G.REVOKED, integration="staging")
    ledger = store_world.ledger
    assert [g.id for g in ledger.grants(integration="prod", statuses=(G.REVOKED,))] == [old.id, new.id]
    assert [g.id for g in ledger.grants(integration="prod", statuses=(G.REVOKED, G.ACTIVE),
                                        updated_since=T0 - timedelta(days=1))] == [new.id, active.id]

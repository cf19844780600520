"""Claiming due grants: what is due, once each, leases respected and reclaimed, concurrent claimers disjoint."""

from __future__ import annotations

import dataclasses
import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event

from access.entities import Grant
from access.model import GrantStatus
from access.ports import StaleWrite
from storage.crypto import SecretBox
from storage.engine import make_engine
from storage.store import SqlStore
from storage.testing import truncate_all
from tests.storage import builders as b

G = GrantStatus
NOW = b.T0
PAST, FUTURE = NOW - timedelta(minutes=1), NOW + timedelta(minutes=1)


def add_grants(store: SqlStore, *changes: dict[str, Any]) -> list[Grant]:
    with store.unit_of_work() as uow:
        added = []
        for change in changes:
            request = uow.requests.add(b.request())
            added.append(uow.grants.add(b.grant(request_id=request.id or 0, **change)))
        return added


def claim(store: SqlStore, *, now: datetime = NOW, owner: str = "me", limit: int = 100) -> list[Grant]:
    """The worker's claim (which also moves expired role grants to REVOKING): the grants claimed."""
    with store.unit_of_work() as uow:
        return uow.grants.claim_due_starting_revocations(now=now, owner=owner, lease_seconds=60, limit=limit)[0]


def test_only_due_work_is_claimed(store: SqlStore) -> None:
    # given grants in every state, some due and some not
    due = add_grants(
        store,
        {"status": G.ACTIVE, "expires_at": PAST},
        {"status": G.INVITED, "next_attempt_at": PAST, "expires_at": FUTURE},
        {"status": G.GRANTING, "next_attempt_at": PAST},
        {"status": G.REVOKING, "next_attempt_at": NOW},
        {"status": G.FAILED, "next_attempt_at": PAST},
    )
    add_grants(
        store,
        {"status": G.ACTIVE, "expires_at": FUTURE, "next_attempt_at": PAST},  # active: due by expires_at only
        {"status": G.INVITED, "next_attempt_at": FUTURE, "expires_at": PAST},
        {"status": G.GRANTING, "next_attempt_at": FUTURE},
        {"status": G.GRANTING, "next_attempt_at": None},
        {"status": G.REVOKED, "next_attempt_at": PAST, "expires_at": PAST},
    )
    # when claimed
    claimed = claim(store)
    # then exactly the due ones come back, leased and with the version bumped
    assert sorted(g.id or 0 for g in claimed) == sorted(g.id or 0 for g in due)
    assert all(g.lease_owner == "me" and g.lease_until == NOW + timedelta(seconds=60) for g in claimed)
    assert all(g.version == 2 for g in claimed)
    with store.unit_of_work() as uow:
        assert [uow.grants.get(g.id or 0) for g in claimed] == claimed


def test_each_due_grant_is_claimed_once_while_its_lease_lasts(store: SqlStore) -> None:
    add_grants(store, {"status": G.GRANTING, "next_attempt_at": PAST})
    assert len(claim(store, owner="a")) == 1
    assert claim(store, owner="a") == []  # its own live lease too: two threads of a process share an owner
    assert claim(store, owner="b", now=NOW + timedelta(seconds=59)) == []


def test_an_expired_lease_is_reclaimed(store: SqlStore) -> None:
    # given a grant claimed by a worker that then died
    add_grants(store, {"status": G.REVOKING, "next_attempt_at": PAST})
    [first] = claim(store, owner="dead")
    # when the lease has run out
    [second] = claim(store, owner="alive", now=NOW + timedelta(seconds=60))
    # then another worker gets it, and the dead one can no longer save it
    assert second.id == first.id and second.lease_owner == "alive" and second.version == first.version + 1
    with pytest.raises(StaleWrite), store.unit_of_work() as uow:
        uow.grants.save(dataclasses.replace(first, status=G.REVOKED))


def test_oldest_due_first_and_at_most_the_limit(store: SqlStore) -> None:
    grants = add_grants(
        store,
        {"status": G.GRANTING, "next_attempt_at": NOW - timedelta(minutes=1)},
        {"status": G.ACTIVE, "expires_at": NOW - timedelta(minutes=3)},
        {"status": G.FAILED, "next_attempt_at": NOW - timedelta(minutes=2)},
    )
    first_two = claim(store, limit=2)
    assert [g.id for g in first_two] == [grants[1].id, grants[2].id]
    assert [g.id for g in claim(store, limit=2)] == [grants[0].id]


def test_next_due_at_is_the_earliest_claimable_moment(store: SqlStore) -> None:
    with store.unit_of_work() as uow:
        assert uow.grants.next_due_at() is None
    add_grants(
        store,
        {"status": G.ACTIVE, "expires_at": NOW + timedelta(hours=1), "next_attempt_at": NOW},
        {"status": G.FAILED, "next_attempt_at": NOW + timedelta(minutes=30)},
        {"status": G.REVOKED, "next_attempt_at": NOW},
    )
    with store.unit_of_work() as uow:
        assert uow.grants.next_due_at() == NOW + timedelta(minutes=30)
    [leased] = claim(store, now=NOW + timedelta(minutes=30))  # leased until +31m: that is when it could come back
    with store.unit_of_work() as uow:
        moment = uow.grants.next_due_at()
    assert moment == leased.lease_until == NOW + timedelta(minutes=31) and moment.tzinfo is not None


def test_concurrent_claimers_get_disjoint_sets(store: SqlStore, engine: Engine, secret_key: str) -> None:
    # given many due grants and four workers, each with its own store (its own connections)
    total = 120
    add_grants(store, *({"status": G.GRANTING, "next_attempt_at": PAST} for _ in range(total)))
    stores = [SqlStore(make_engine(str(engine.url.render_as_string(hide_password=False))), SecretBox(secret_key))
              for _ in range(4)]
    claimed: list[list[int]] = [[] for _ in stores]
    errors: list[BaseException] = []
    start = threading.Barrier(len(stores))

    def work(index: int) -> None:
        try:
            start.wait()
            while batch := claim(stores[index], owner=f"w{index}", limit=7):
                claimed[index].extend(g.id or 0 for g in batch)
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(stores))]
    # when they all claim at once
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for each in stores:
        each.dispose()
    # then every grant went to exactly one of them
    assert errors == []
    every = [grant_id for ids in claimed for grant_id in ids]
    assert len(every) == len(set(every)) == total


@pytest.mark.postgres
def test_postgres_claims_starting_revocations_skip_locked_rows_in_one_statement(postgres_url: str,
                                                                               secret_key: str) -> None:
    # given ten expired grants on PostgreSQL and two workers on separate connections
    first, second = (SqlStore(make_engine(postgres_url), SecretBox(secret_key)) for _ in range(2))
    truncate_all(first.engine)
    add_grants(first, *({"status": G.ACTIVE, "expires_at": PAST} for _ in range(10)))
    seen: list[str] = []
    event.listen(first.engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    try:
        # when the first claims five and has not committed yet, and the second claims meanwhile
        with first.unit_of_work() as one:
            mine, started = one.grants.claim_due_starting_revocations(now=NOW, owner="one", lease_seconds=60,
                                                                      limit=5)
            with second.unit_of_work() as two:
                theirs, their_started = two.grants.claim_due_starting_revocations(now=NOW, owner="two",
                                                                                  lease_seconds=60, limit=10)
        # then the second skipped the locked rows and took the other five, without waiting; each claim moved its
        # own to REVOKING, and the first did it in one statement (besides BEGIN and COMMIT)
        assert len(mine) == len(theirs) == 5
        assert not {g.id for g in mine} & {g.id for g in theirs}
        assert started == {g.id for g in mine} and their_started == {g.id for g in theirs}
        assert {g.status for g in (*mine, *theirs)} == {G.REVOKING}
        assert [s.split()[0] for s in seen if s.split()[0] not in ("BEGIN", "COMMIT")] == ["UPDATE"]
    finally:
        first.dispose()
        second.dispose()

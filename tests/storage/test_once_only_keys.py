"""The once-only keys of access requests: a submission key and a pending key are each held by one row at most,
even when two units of work (two replicas) insert the same one at the same moment."""

from __future__ import annotations

import threading

import pytest

from access import lifecycle, once_only
from access.errors import RequestRefused
from access.model import RequestStatus
from access.ports import Duplicate
from storage.requests import requester_lock_key
from storage.store import SqlStore
from tests.storage import builders as b


def count(store: SqlStore, requester: str = "U0REQUESTER") -> int:
    with store.unit_of_work() as uow:
        return len(uow.requests.for_requester(requester))


@pytest.mark.parametrize("key", ["submission_key", "pending_key"])
def test_a_second_request_with_the_same_key_is_not_added(store: SqlStore, key: str) -> None:
    # given a stored request holding a key
    with store.unit_of_work() as uow:
        first = uow.requests.add(b.request(**{key: "k" * 64}))

    # when another request with the same key is added, then it raises Duplicate and nothing more is stored
    with pytest.raises(Duplicate), store.unit_of_work() as uow:
        uow.requests.add(b.request(**{key: "k" * 64}, justification="again"))
    assert count(store) == 1
    with store.unit_of_work() as uow:
        assert (uow.requests.by_submission_key("k" * 64) == first) is (key == "submission_key")


def test_requests_without_keys_never_collide(store: SqlStore) -> None:
    with store.unit_of_work() as uow:
        for _ in range(3):
            uow.requests.add(b.request())
    assert count(store) == 3


def test_a_decided_request_frees_its_pending_key(store: SqlStore) -> None:
    # given a pending request holding a pending key, decided (its key cleared by the lifecycle's move)
    with store.unit_of_work() as uow:
        first = uow.requests.add(b.request(pending_key="p" * 64))
        uow.requests.save(lifecycle.cancel(first, user_id=first.requester_id, now=b.T0))
    # when the same request is asked again, then it is stored
    with store.unit_of_work() as uow:
        uow.requests.add(b.request(pending_key="p" * 64))
    assert count(store) == 2


def test_pending_for_lists_one_persons_waiting_requests_oldest_first(store: SqlStore) -> None:
    with store.unit_of_work() as uow:
        older = uow.requests.add(b.request())
        uow.requests.add(b.request(status=RequestStatus.DENIED))
        uow.requests.add(b.request(requester_id="U0SOMEONE"))
        newer = uow.requests.add(b.request(created_at=b.T0.replace(hour=10)))
    with store.unit_of_work() as uow:
        assert [r.id for r in uow.requests.pending_for("U0REQUESTER")] == [older.id, newer.id]
        assert [r.id for r in uow.requests.pending_for("U0REQUESTER", limit=1)] == [older.id]


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_two_replicas_inserting_the_same_submission_at_once_store_one(store: SqlStore) -> None:
    # given one replica's unit of work that has inserted a submission and not yet committed
    inserted, release, outcome = threading.Event(), threading.Event(), []

    def first() -> None:
        with store.unit_of_work() as uow:
            uow.requests.add(b.request(submission_key="V0REPLAYED"))
            inserted.set()
            release.wait(5)

    def second() -> None:
        try:
            with store.unit_of_work() as uow:
                uow.requests.add(b.request(submission_key="V0REPLAYED"))
            outcome.append("added")
        except Duplicate:
            outcome.append("duplicate")

    winner = threading.Thread(target=first)
    winner.start()
    assert inserted.wait(5)
    # when another replica inserts the same submission meanwhile (it waits on the index), and the first commits
    loser = threading.Thread(target=second)
    loser.start()
    loser.join(0.3)
    release.set()
    winner.join(5)
    loser.join(5)

    # then the second is a Duplicate, and one request is stored
    assert outcome == ["duplicate"] and count(store) == 1


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
@pytest.mark.parametrize(("second_requester", "expected"), [
    ("U0REQUESTER", "refused"),  # the same person: the second count waits for the first add, and finds no room
    ("U0SOMEONE", "added"),      # someone else: not held up, not refused
])
def test_two_replicas_counting_one_persons_pending_requests_at_once_keep_the_cap(
        store: SqlStore, second_requester: str, expected: str) -> None:
    # given a person with one request short of the cap, and one replica that counted and added, not yet committed
    cap = 3
    with store.unit_of_work() as uow:
        for n in range(cap - 1):
            uow.requests.add(b.request(pending_key=f"K{n}"))
    counted, release, outcome = threading.Event(), threading.Event(), []

    def first() -> None:
        with store.unit_of_work() as uow:
            once_only.check_cap(uow, requester_id="U0REQUESTER", max_pending=cap)
            uow.requests.add(b.request(pending_key="K-first"))
            counted.set()
            release.wait(5)

    def second() -> None:
        try:
            with store.unit_of_work() as uow:
                once_only.check_cap(uow, requester_id=second_requester, max_pending=cap)
                uow.requests.add(b.request(requester_id=second_requester, pending_key="K-second"))
            outcome.append("added")
        except RequestRefused:
            outcome.append("refused")

    winner = threading.Thread(target=first)
    winner.start()
    assert counted.wait(5)
    # when another replica counts the same person's requests meanwhile, and the first then commits
    other = threading.Thread(target=second)
    other.start()
    other.join(0.5)
    before_commit = list(outcome)
    release.set()
    winner.join(5)
    other.join(5)

    # then the cap holds: the same person's second is held until the first commits and refused (not stored);
    # someone else's goes through at once
    assert outcome == [expected]
    assert before_commit == ([] if expected == "refused" else ["added"])
    assert count(store) == cap and count(store, second_requester) == (cap if expected == "refused" else 1)


def test_the_hold_on_a_persons_requests_is_a_stable_64_bit_key() -> None:
    key = requester_lock_key("U0REQUESTER")
    assert key == requester_lock_key("U0REQUESTER") != requester_lock_key("U0SOMEONE")
    assert -(2 ** 63) <= key < 2 ** 63

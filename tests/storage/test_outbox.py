"""The Slack outbox: what is due is taken once, by one replica; a newer put on the same key is never lost.

The tests above the line are the contract of the domain's `access.ports.Outbox`: they take an `outbox_for`
(a clock in, an Outbox out), so an in-memory outbox can be held to them too by adding itself to that fixture.
Below it, what only the SQL outbox does: replicas with their own engines.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from access.model import Parcel
from access.ports import Outbox
from storage import outbox as storage_outbox
from storage.engine import make_engine
from storage.outbox import SqlOutbox
from tests.storage.builders import Clock

LEASE = timedelta(seconds=60)
OutboxFor = Callable[[Clock], Outbox]


@pytest.fixture
def outbox_for(engine: Engine) -> OutboxFor:
    """The SQL outbox on each database (`engine` runs on SQLite and PostgreSQL)."""
    return lambda clock: SqlOutbox(engine, clock)


def keys(taken: list[Parcel]) -> list[str]:
    return [p.key for p in taken]


def test_a_parcel_is_due_at_once_taken_for_a_lease_and_gone_once_sent(outbox_for: OutboxFor, clock: Clock) -> None:
    outbox = outbox_for(clock)
    outbox.put("post:a", {"channel": "U1", "text": "hello"})
    outbox.put("post:b", {"channel": "U2", "text": "there"})

    # when a round takes what is due, then it gets both, oldest first, each counting its first try
    taken = outbox.take(lease=LEASE)
    assert keys(taken) == ["post:a", "post:b"] and [p.attempts for p in taken] == [1, 1]
    assert taken[0].payload == {"channel": "U1", "text": "hello"}

    # and another round within the lease gets nothing (a replica is sending them)
    assert outbox.take(lease=LEASE) == []

    # when one is sent and the other refused again, then only that one comes back, when its wait is over
    outbox.sent(taken[0])
    outbox.again(taken[1], after=timedelta(seconds=10))
    clock.advance(9)
    assert outbox.take(lease=LEASE) == []
    clock.advance(1)
    again = outbox.take(lease=LEASE)
    assert keys(again) == ["post:b"] and again[0].attempts == 2
    assert outbox.waiting() == 1


def test_a_parcel_whose_sender_died_is_taken_again_after_the_lease(outbox_for: OutboxFor, clock: Clock) -> None:
    outbox = outbox_for(clock)
    outbox.put("post:a", {"text": "x"})
    assert len(outbox.take(lease=LEASE)) == 1  # and the replica that took it is gone
    clock.advance(59)
    assert outbox.take(lease=LEASE) == []
    clock.advance(1)
    assert keys(outbox.take(lease=LEASE)) == ["post:a"]


def test_a_newer_put_on_a_key_being_sent_stays_due(outbox_for: OutboxFor, clock: Clock) -> None:
    # given an approval message's update taken for sending (rendering an older state)
    outbox = outbox_for(clock)
    outbox.put("update:C1:1.0", {"request_id": 7})
    sending = outbox.take(lease=LEASE)[0]

    # when the same message is put again meanwhile (a newer state failed too), and the older send ends
    outbox.put("update:C1:1.0", {"request_id": 7})
    outbox.sent(sending)

    # then the row is still there and due now: the next round renders the newer state
    assert outbox.waiting() == 1
    assert keys(outbox.take(lease=LEASE)) == ["update:C1:1.0"]

    # and a refusal of the older send does not push the newer one back either
    outbox.put("update:C1:1.0", {"request_id": 7})
    stale = sending
    outbox.again(stale, after=timedelta(minutes=5))
    assert keys(outbox.take(lease=LEASE)) == ["update:C1:1.0"]


def test_one_row_per_key(outbox_for: OutboxFor, clock: Clock) -> None:
    outbox = outbox_for(clock)
    for _ in range(3):
        outbox.put("update:C1:1.0", {"request_id": 7})
    assert outbox.waiting() == 1


def test_a_parcel_is_the_domains_value_and_the_old_import_still_works(outbox_for: OutboxFor, clock: Clock) -> None:
    outbox = outbox_for(clock)
    outbox.put("post:a", {"text": "x"})
    [parcel] = outbox.take(lease=LEASE)
    assert type(parcel) is Parcel and storage_outbox.Parcel is Parcel
    assert parcel.created_at == clock.now() and parcel.rev == 1


# --- the SQL outbox only -----------------------------------------------------------------------------------


def test_two_replicas_taking_at_once_take_each_parcel_once(db_url: str, clock: Clock) -> None:
    # given 200 parcels, and two replicas (each its own engine) taking rounds at the same moment
    engines = [make_engine(db_url) for _ in range(2)]
    try:
        for n in range(200):
            SqlOutbox(engines[0], clock).put(f"post:{n}", {"n": n})
        taken: list[list[str]] = [[], []]
        start = threading.Barrier(2)

        def rounds(i: int) -> None:
            outbox = SqlOutbox(engines[i], clock)
            start.wait()
            for _ in range(10):
                taken[i].extend(keys(outbox.take(lease=LEASE, limit=25)))

        threads = [threading.Thread(target=rounds, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        # then every parcel was taken exactly once between them
        both = taken[0] + taken[1]
        assert sorted(both) == sorted(f"post:{n}" for n in range(200))
    finally:
        for engine in engines:
            engine.dispose()

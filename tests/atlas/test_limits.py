"""The concurrency slots: a bound on calls in flight, with revocations (NORMAL) served before discovery (BULK)."""

from __future__ import annotations

import threading
import time

import pytest

from atlas.limits import Cooldown, Priority, Slots


def wait_until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.001)


def test_no_more_calls_in_flight_than_slots() -> None:
    slots = Slots(3)
    peak, current, lock = [0], [0], threading.Lock()

    def work() -> None:
        with slots.hold(Priority.BULK):
            with lock:
                current[0] += 1
                peak[0] = max(peak[0], current[0])
            time.sleep(0.005)
            with lock:
                current[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] == 3 and slots.in_use == 0


def test_a_waiting_normal_call_goes_before_every_waiting_bulk_call() -> None:
    # Given one slot, busy, and three discovery calls queued for it
    slots = Slots(1)
    slots.acquire(Priority.BULK)
    order: list[str] = []

    def take(name: str, priority: Priority) -> None:
        with slots.hold(priority):
            order.append(name)

    bulk = [threading.Thread(target=take, args=(f"bulk{i}", Priority.BULK)) for i in range(3)]
    for t in bulk:
        t.start()
    wait_until(lambda: slots.waiting()[Priority.BULK] == 3)
    # When a revocation arrives after them and the slot frees up
    revoke = threading.Thread(target=take, args=("revoke", Priority.NORMAL))
    revoke.start()
    wait_until(lambda: slots.waiting()[Priority.NORMAL] == 1)
    slots.release()
    for t in [*bulk, revoke]:
        t.join()
    # Then the revocation went first and every bulk call still ran
    assert order[0] == "revoke" and sorted(order[1:]) == ["bulk0", "bulk1", "bulk2"]


def test_bulk_calls_use_every_slot_when_nobody_else_waits() -> None:
    slots = Slots(4)
    for _ in range(4):
        slots.acquire(Priority.BULK)
    assert slots.in_use == 4
    for _ in range(4):
        slots.release()


def test_releasing_more_than_acquired_is_a_bug() -> None:
    slots = Slots(1)
    with pytest.raises(ValueError):
        slots.release()
    with pytest.raises(ValueError):
        Slots(0)


def test_cooldown_counts_down_from_the_longest_pause() -> None:
    cooldown = Cooldown()
    assert cooldown.remaining() == 0
    cooldown.start(5.0)
    cooldown.start(1.0)
    assert 4.0 < cooldown.remaining() <= 5.0

"""AckGate: work handed over after an ack waits for the acks in flight; an approval's work (`since`) goes at once
when the only request in flight is its own, and waits when another one is (the tail of a burst)."""

from __future__ import annotations

import threading
import time

from bot.slack.pacing import AckGate


def test_an_approvals_work_goes_at_once_when_only_its_own_request_is_in_flight() -> None:
    gate = AckGate(max_wait=2.0, quiet=0.5)
    with gate.request():
        since = gate.handing_over()
        started = time.monotonic()
        gate.wait_turn(since=since)
        assert time.monotonic() - started < 0.2  # neither its own ack nor the lull waited for


def test_an_approvals_work_waits_for_another_request_in_flight_even_once_its_own_ack_left() -> None:
    gate = AckGate(max_wait=2.0, quiet=0.0)
    other_in, other_out = threading.Event(), threading.Event()

    def other_request() -> None:
        with gate.request():
            other_in.set()
            other_out.wait(5)

    waiter = threading.Thread(target=other_request)
    with gate.request():
        waiter.start()
        assert other_in.wait(5)
        since = gate.handing_over()  # another request arrived before the hand-over, and is still in flight
    # its own ack has left: one request is in flight, but not its own
    went: list[float] = []
    work = threading.Thread(target=lambda: (gate.wait_turn(since=since), went.append(time.monotonic())))
    work.start()
    time.sleep(0.2)
    assert went == []  # the other request's ack goes first
    released = time.monotonic()
    other_out.set()
    waiter.join(5)
    work.join(5)
    assert went and went[0] >= released


def test_other_work_waits_for_every_ack_and_the_lull() -> None:
    gate = AckGate(max_wait=2.0, quiet=0.2)
    with gate.request():
        pass
    started = time.monotonic()
    gate.wait_turn()
    assert time.monotonic() - started >= 0.15  # the lull after the last arrival

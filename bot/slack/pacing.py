"""Acks first, work after: where the work a listener does after its ack runs, and when it may start.

Bolt runs a listener on its pool and the request's ack comes from that listener, so a listener that keeps
its thread for the slow part (database, Atlas, Slack posts) leaves later requests waiting for a thread
before they can even ack: Slack's 3-second deadline is on the acks. So a listener acks and hands the rest
to `AfterAck`, a pool of its own. And under a burst the work would still take interpreter turns from the
acks in flight, so `AckGate` counts Slack requests between arrival and response, and work waits until none is
in flight (at most `max_wait` seconds, so work still progresses under constant load).
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from bot.observability import ContextThreadPool

log = logging.getLogger(__name__)

# The Slack request being served, in its context (which Bolt's listener pool and AfterAck copy): work handed over
# knows which request in flight is its own.
_OWN: contextvars.ContextVar[object | None] = contextvars.ContextVar("own_slack_request", default=None)


class AckGate:
    """Counts Slack requests in flight; work waits for a lull (none in flight, none just arrived)."""

    def __init__(self, *, max_wait: float = 0.25, quiet: float = 0.02) -> None:
        self._max_wait, self._quiet = max_wait, quiet
        self._in_flight: set[object] = set()
        self._arrivals = 0  # Slack requests so far
        self._last_arrival = 0.0
        self._idle = threading.Condition()

    @contextmanager
    def request(self) -> Iterator[None]:
        """Around one Slack request, from arrival to its response (its ack)."""
        own = object()
        with self._idle:
            self._in_flight.add(own)
            self._arrivals += 1
            self._last_arrival = time.monotonic()
        token = _OWN.set(own)
        try:
            yield
        finally:
            _OWN.reset(token)
            with self._idle:
                self._in_flight.discard(own)
                self._idle.notify_all()

    def handing_over(self) -> tuple[int, object | None]:
        """For `wait_turn`: the arrivals so far, and the request being served here (None outside one)."""
        with self._idle:
            return self._arrivals, _OWN.get()

    def wait_turn(self, *, since: tuple[int, object | None] | None = None) -> None:
        """Let the acks in flight go first, and those of a burst still arriving (requests seldom come alone).

        `since`: `handing_over()` when the work was handed over, within its own request. If no request came since
        and none is in flight but its own (whose ack is decided: Bolt sends it at its next look, up to 10 ms
        later), the work goes at once: a lone Approve click's grant waited for its own ack to leave and then
        `quiet` more, about 30 ms of each click-to-grant (bench/ack.py). Any other request in flight (the tail of
        a burst) goes first, as for all other work: its ack counts more than a grant's few milliseconds."""
        deadline = time.monotonic() + self._max_wait
        with self._idle:
            while (left := deadline - time.monotonic()) > 0:
                if since is not None and self._arrivals == since[0] and self._in_flight <= {since[1]}:
                    return
                if self._in_flight:
                    self._idle.wait(left)
                    continue
                lull = self._quiet - (time.monotonic() - self._last_arrival)
                if lull <= 0:
                    return
                self._idle.wait(min(lull, left))


class AfterAck:
    """The pools that run listeners' work after their acks; failures are logged, never lost silently.

    `urgent` is for work with a deadline of its own (a `views.open` must use its trigger within 3 s): it has
    its own threads so that it never queues behind slow work such as grants waiting on Atlas.
    """

    def __init__(self, *, threads: int, gate: AckGate) -> None:
        # The work runs in the context of the request that handed it over: its log lines carry its request id.
        self._work = ContextThreadPool(max_workers=threads, thread_name_prefix="after-ack")
        self._urgent = ContextThreadPool(max_workers=threads, thread_name_prefix="after-ack-urgent")
        self._gate = gate

    def __call__(self, work: Callable[[], object]) -> None:
        self._work.submit(self._run, work, None)

    def urgent(self, work: Callable[[], object]) -> None:
        self._urgent.submit(self._run, work, None)

    def granting(self, work: Callable[[], object]) -> None:
        """Work that starts a grant someone waits on (an approval): it starts at once when no other request arrived
        since its own (see `AckGate.wait_turn`), rather than after a lull; other work keeps the lull, which also
        spaces the posts of a quick succession of clicks under Slack's per-channel limit."""
        self._work.submit(self._run, work, self._gate.handing_over())

    def _run(self, work: Callable[[], object], since: tuple[int, object | None] | None) -> None:
        self._gate.wait_turn(since=since)
        try:
            work()
        except Exception:
            log.exception("work after an ack failed")

    def drain(self) -> None:
        """Finish what was handed over (at shutdown)."""
        self._urgent.shutdown(wait=True)
        self._work.shutdown(wait=True)

"""How many Atlas calls are in flight at once, and who goes first when they must wait: revocations before discovery."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum


class Priority(StrEnum):
    NORMAL = "normal"  # grants, revocations, look-ups: someone or some deadline is waiting
    BULK = "bulk"  # discovery and other sweeps that can always wait a little


class Slots:
    """A bounded semaphore with two lanes: a waiting NORMAL call takes the next free slot before any BULK call.

    `threading.BoundedSemaphore` bounds the calls in flight but wakes waiters in no promised order, so a
    revocation arriving during a 5,000-call discovery could queue behind thousands of reads. Here it waits
    at most for one call in flight to finish, while discovery may still use every slot when nobody else asks.
    """

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.size = size
        self._free = size
        self._normal_waiting = 0
        self._bulk_waiting = 0
        self._cond = threading.Condition()

    @contextmanager
    def hold(self, priority: Priority) -> Iterator[None]:
        self.acquire(priority)
        try:
            yield
        finally:
            self.release()

    def acquire(self, priority: Priority) -> None:
        normal = priority is Priority.NORMAL
        with self._cond:
            self._count_waiting(normal, +1)
            try:
                while not self._free or (not normal and self._normal_waiting):
                    self._cond.wait()
                self._free -= 1
            finally:
                self._count_waiting(normal, -1)
                if normal:
                    self._cond.notify_all()  # bulk waiters may go again once no normal call waits

    def _count_waiting(self, normal: bool, delta: int) -> None:
        if normal:
            self._normal_waiting += delta
        else:
            self._bulk_waiting += delta

    def release(self) -> None:
        with self._cond:
            if self._free >= self.size:
                raise ValueError("Slots released more often than acquired")
            self._free += 1
            self._cond.notify_all()

    @property
    def in_use(self) -> int:
        with self._cond:
            return self.size - self._free

    def waiting(self) -> dict[Priority, int]:
        """Callers queued for a slot, by lane (for metrics and tests)."""
        with self._cond:
            return {Priority.NORMAL: self._normal_waiting, Priority.BULK: self._bulk_waiting}


class Cooldown:
    """After a 429, bulk calls hold back until Retry-After has passed instead of spending the bucket's next tokens.

    Each caller retrying on its own keeps the bucket empty and turns most of a sweep into 429s; waiting together
    lets the bucket refill, so a rate-limited discovery runs at the rate Atlas allows with few rejected calls.
    """

    def __init__(self) -> None:
        self._until = 0.0
        self._lock = threading.Lock()

    def start(self, seconds: float) -> None:
        with self._lock:
            self._until = max(self._until, time.monotonic() + seconds)

    def remaining(self) -> float:
        with self._lock:
            return max(0.0, self._until - time.monotonic())

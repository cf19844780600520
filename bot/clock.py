"""Clocks: the real one, and a settable one that tests and the demo move forward instead of sleeping."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to; thread-safe."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta | float = 0.0, **parts: float) -> datetime:
        """Move on by `delta` (seconds or a timedelta) and/or `hours=`, `minutes=`, ...; the new time."""
        step = (delta if isinstance(delta, timedelta) else timedelta(seconds=delta)) + timedelta(**parts)
        with self._lock:
            self._now += step
            return self._now

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._now = moment

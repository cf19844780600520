"""A clock that moves only when a test moves it (the `access.ports.Clock` port)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class ManualClock:
    def __init__(self, start: datetime = T0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta | float = 0.0, **parts: float) -> datetime:
        """Move on by `delta` (seconds or a timedelta) and/or `hours=`, `minutes=`, ... ; the new time."""
        step = (delta if isinstance(delta, timedelta) else timedelta(seconds=delta)) + timedelta(**parts)
        with self._lock:
            self._now += step
            return self._now

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._now = moment

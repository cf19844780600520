"""An in-memory RateBudget, held to the SQL one by tests/contracts/test_rate_budget_contract.py."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class MemoryRateBudget:
    def __init__(self, *, now: Callable[[], float] = time.time) -> None:
        self._now = now
        self._buckets: dict[str, tuple[float, float]] = {}  # name: (tokens, filled at)
        self._lock = threading.Lock()

    def take(self, name: str, *, per_second: float, burst: float) -> float:
        with self._lock:
            now = self._now()
            tokens, filled_at = self._buckets.get(name, (burst, now))
            tokens = min(burst, tokens + max(0.0, now - filled_at) * per_second)
            if tokens < 1:
                return (1 - tokens) / per_second if per_second > 0 else 1.0
            self._buckets[name] = (tokens - 1, max(now, filled_at))
            return 0.0

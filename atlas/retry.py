"""When a failed Atlas call is tried again and how long the client waits first (429, 5xx, no answer)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime

import httpx

from atlas.operations import Operation

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# POSTs whose effect is the same however often they land: adding a role the user has, or removing one
# they lack, changes nothing.
IDEMPOTENT_POST_SUFFIXES = (":addRole", ":removeRole")
# The request never left this process, so repeating it cannot do anything twice, whatever the method.
NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def is_idempotent(operation: Operation) -> bool:
    return operation.method in IDEMPOTENT_METHODS or operation.path.endswith(IDEMPOTENT_POST_SUFFIXES)


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """Bounded retries: 429 always (Atlas did nothing), 5xx and lost answers only where repeating is safe."""

    max_retries: int = 5
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def after_status(self, *, status: int, retry_after: str | None, attempt: int, idempotent: bool,
                     now: datetime) -> float | None:
        """Seconds to wait before attempt `attempt + 1`, or None to give up and raise."""
        if attempt >= self.max_retries:
            return None
        if status == 429 or (status >= 500 and idempotent):
            told = parse_retry_after(retry_after, now=now)
            return min(told, self.backoff_cap) if told is not None else self.backoff(attempt)
        return None

    def after_no_answer(self, *, error: Exception, attempt: int, idempotent: bool) -> float | None:
        if attempt >= self.max_retries or not (idempotent or isinstance(error, NEVER_SENT)):
            return None
        return self.backoff(attempt)

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter: spreads the retries of many callers hit by the same outage."""
        return self.rng.uniform(0.0, min(self.backoff_cap, self.backoff_base * 2**attempt))


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date; None when absent or unreadable."""
    if value is None or not value.strip():
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (moment - now).total_seconds()) if moment.tzinfo else None

"""Injected trouble, applied before a request reaches its handler: latency, scripted failures, random errors, a bucket.

    sb.faults.latency = 0.05                    # seconds slept on the serving thread, every request
    sb.faults.latency_range = (0.01, 0.2)       # or uniform in a range (seeded)
    sb.faults.fail_next(status=429, retry_after=1, count=1, operation_id=None)
    sb.faults.fail_next(status=503, operation_id="listOrgUsers", page=3)   # only that page of a list
    sb.faults.error_rate = {429: 0.05, 503: 0.02}; sb.faults.seed(1)
    sb.faults.rate_limit(capacity=100, refill_per_second=100.0)

Failures without an operation id hit Admin API calls only; the OAuth token endpoint fails only when a fault
names it ("oauthToken"), so a test scripting "the next call fails" is not surprised by the token fetch.
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from atlas.sandbox.errors import RATE_LIMITED_TOKEN_BUCKET, ApiFailure, fault_code, reason


@dataclass(kw_only=True)
class _Scripted:
    status: int
    retry_after: float | None
    remaining: int
    operation_id: str | None
    page: int | None = None


@dataclass(kw_only=True)
class _Bucket:
    capacity: float
    refill_per_second: float
    tokens: float
    stamp: datetime | None
    operation_id: str | None


class Faults:
    def __init__(self, *, now: Callable[[], datetime]) -> None:
        self._now = now
        self._lock = threading.Lock()
        self._rng = random.Random(0)
        self._scripted: list[_Scripted] = []
        self._bucket: _Bucket | None = None
        self.latency: float = 0.0
        self.latency_range: tuple[float, float] | None = None
        self.error_rate: dict[int, float] = {}

    def seed(self, value: int) -> None:
        with self._lock:
            self._rng = random.Random(value)

    def fail_next(self, *, status: int = 503, retry_after: float | None = None, count: int = 1,
                  operation_id: str | None = None, page: int | None = None) -> None:
        """The next `count` matching requests fail with `status` (429s carry Retry-After, 1 s unless given).

        With `page`, only requests for that `pageNum` match (a request without pageNum asks for page 1).
        """
        if retry_after is None and status == 429:
            retry_after = 1
        with self._lock:
            self._scripted.append(_Scripted(status=status, retry_after=retry_after, remaining=count,
                                            operation_id=operation_id, page=page))

    def rate_limit(self, *, capacity: int, refill_per_second: float, operation_id: str | None = None) -> None:
        """A token bucket on the sandbox clock: past `capacity` requests, 429 until it refills."""
        with self._lock:
            self._bucket = _Bucket(capacity=float(capacity), refill_per_second=refill_per_second,
                                   tokens=float(capacity), stamp=None, operation_id=operation_id)

    def clear(self) -> None:
        """No more faults of any kind."""
        with self._lock:
            self._scripted.clear()
            self._bucket = None
            self.latency, self.latency_range, self.error_rate = 0.0, None, {}

    @property
    def pending(self) -> int:
        """Scripted failures not yet served."""
        with self._lock:
            return sum(s.remaining for s in self._scripted)

    # --- used by the sandbox --------------------------------------------------------------------------------

    def delay(self) -> float:
        if self.latency_range is not None:
            low, high = self.latency_range
            with self._lock:
                return self._rng.uniform(low, high)
        return max(0.0, float(self.latency))

    def check(self, operation_id: str | None, *, admin_api: bool, page: int = 1) -> None:
        """Raise the failure this request is due, if any (scripted first, then random, then the bucket)."""
        if operation_id is None:
            return
        with self._lock:
            failure = self._scripted_failure(operation_id, admin_api, page) or (
                self._random_failure() if admin_api else None) or self._bucket_failure(operation_id, admin_api)
        if failure is not None:
            raise failure

    def _scripted_failure(self, operation_id: str, admin_api: bool, page: int) -> ApiFailure | None:
        for scripted in self._scripted:
            scoped = scripted.operation_id == operation_id if scripted.operation_id else admin_api
            if scripted.page is not None and scripted.page != page:
                scoped = False
            if scoped and scripted.remaining > 0:
                scripted.remaining -= 1
                self._scripted = [s for s in self._scripted if s.remaining > 0]
                return _failure(scripted.status, scripted.retry_after, f"Injected failure of {operation_id}.")
        return None

    def _random_failure(self) -> ApiFailure | None:
        for status, probability in sorted(self.error_rate.items()):
            if self._rng.random() < probability:
                return _failure(status, 1 if status == 429 else None, "Injected random failure.")
        return None

    def _bucket_failure(self, operation_id: str, admin_api: bool) -> ApiFailure | None:
        bucket = self._bucket
        if bucket is None or not (bucket.operation_id == operation_id if bucket.operation_id else admin_api):
            return None
        now = self._now()
        if bucket.stamp is not None:
            elapsed = max(0.0, (now - bucket.stamp).total_seconds())
            bucket.tokens = min(bucket.capacity, bucket.tokens + elapsed * bucket.refill_per_second)
        bucket.stamp = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        wait = math.ceil((1.0 - bucket.tokens) / bucket.refill_per_second) if bucket.refill_per_second > 0 else 60
        return ApiFailure(429, RATE_LIMITED_TOKEN_BUCKET, "Too many requests: the endpoint's token bucket is empty.",
                          headers={"Retry-After": str(max(1, wait)), "RateLimit-Limit": str(int(bucket.capacity)),
                                   "RateLimit-Remaining": "0"})


def _failure(status: int, retry_after: float | None, detail: str) -> ApiFailure:
    headers = {} if retry_after is None else {"Retry-After": _seconds(retry_after)}
    return ApiFailure(status, fault_code(status), f"{reason(status)}: {detail}", headers=headers)


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)

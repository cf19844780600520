"""Programmable trouble for the fakes of services behind ports: the `access.errors` GatewayError family, raised
on the next calls of a method (before it acts, or after it acted with its answer lost: `landed=True`)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from access.errors import GatewayError, GatewayRateLimited, GatewayRefused, GatewayUnauthorized, GatewayUnreachable


def unauthorized(operation: str = "") -> GatewayError:
    return GatewayUnauthorized(f"Atlas {operation} failed with HTTP 401 NOT_AUTHORIZED", operation=operation,
                               status=401, code="NOT_AUTHORIZED")


def unreachable(operation: str = "") -> GatewayError:
    return GatewayUnreachable(f"Atlas {operation} got no answer (connection failed)", operation=operation)


def rate_limited(operation: str = "", retry_after: float | None = 1.0) -> GatewayError:
    return GatewayRateLimited(f"Atlas {operation} failed with HTTP 429 RATE_LIMITED", operation=operation,
                              code="RATE_LIMITED", retry_after=retry_after)


def refused(operation: str = "", *, status: int = 400, code: str | None = "VALIDATION_ERROR",
            detail: str | None = None) -> GatewayError:
    words = f"Atlas {operation} failed with HTTP {status}" + (f" {code}" if code else "") + (
        f": {detail}" if detail else "")
    return GatewayRefused(words, operation=operation, status=status, code=code, detail=detail)


# One of each kind, by name: for tables of faults.
KINDS: dict[str, Callable[[str], GatewayError]] = {
    "unauthorized": unauthorized, "unreachable": unreachable, "rate_limited": rate_limited, "refused": refused,
}


@dataclass(kw_only=True)
class _Fault:
    make: Callable[[str], GatewayError]
    method: str | None
    remaining: int  # -1: for ever
    landed: bool


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[_Fault] = []

    def fail_next(self, error: str | Callable[[str], GatewayError] = "unreachable", *, method: str | None = None,
                  count: int = 1, landed: bool = False) -> None:
        """The next `count` calls (of `method`, or of any method) raise `error` (a KINDS name or a factory of the
        operation name); with `landed`, the call takes effect first and only its answer is lost."""
        make = KINDS[error] if isinstance(error, str) else error
        with self._lock:
            self._queue.append(_Fault(make=make, method=method, remaining=count, landed=landed))

    def fail_always(self, error: str | Callable[[str], GatewayError] = "unreachable", *,
                    method: str | None = None) -> None:
        self.fail_next(error, method=method, count=-1)

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()

    def take(self, method: str, *, named_only: bool = False) -> _Fault | None:
        """The fault for a call of `method`; with `named_only`, only one asked for by that name."""
        with self._lock:
            for fault in self._queue:
                if fault.method in ((method,) if named_only else (None, method)) and fault.remaining != 0:
                    if fault.remaining > 0:
                        fault.remaining -= 1
                    self._queue = [f for f in self._queue if f.remaining != 0]
                    return fault
        return None

    @property
    def pending(self) -> int:
        with self._lock:
            return sum(f.remaining for f in self._queue if f.remaining > 0)

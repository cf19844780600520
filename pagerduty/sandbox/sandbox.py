"""The PagerDuty simulator's state, routing and answers (see the package's docs)."""

from __future__ import annotations

import json
import os
import secrets
import threading
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote

import httpx

RECORD_ENV = "PAGERDUTY_SANDBOX_RECORD"
ACCEPT = "application/vnd.pagerduty+json;version=2"
MAX_LIMIT = 100
# The documented query parameters of each operation (components/parameters of openapiv3.json).
QUERY = {
    "listOnCalls": {"time_zone", "limit", "offset", "total", "include[]", "user_ids[]", "escalation_policy_ids[]",
                    "schedule_ids[]", "since", "until", "earliest"},
    "getSchedule": {"time_zone", "since", "until", "overflow", "include_next_oncall_for_user"},
}
ERRORS = {400: (2001, "Invalid Input Provided"), 401: (2006, "Invalid Credentials"), 403: (2010, "Access Denied"),
          404: (2100, "Not Found"), 429: (2020, "Rate Limit Exceeded"), 500: (2000, "Internal Error"),
          503: (2000, "Service Unavailable")}


class _Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass(frozen=True, kw_only=True)
class RecordedCall:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]  # lower-case; authorization cut to its scheme ("Token")
    operation_id: str | None
    status: int


@dataclass
class _Schedule:
    id: str
    name: str
    shifts: list[tuple[str, datetime | None, datetime | None]] = field(default_factory=list)  # user, start, end


class _Failure(Exception):
    def __init__(self, status: int, *errors: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status, self.errors, self.headers = status, list(errors), headers or {}


class PagerDutySandbox:
    def __init__(self, clock: _Clock | None = None, record_path: str | None = None) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, bool] = {}  # key -> may read schedules and on-calls
        self._users: dict[str, dict[str, str]] = {}
        self._schedules: dict[str, _Schedule] = {}
        self._fail: list[tuple[int, str | None, float | None]] = []  # (status, operation id or None, reset)
        self.down = False  # no answer at all (a connection error)
        self.calls: list[RecordedCall] = []
        self._record = record_path or os.environ.get(RECORD_ENV) or None

    def __repr__(self) -> str:
        return f"PagerDutySandbox(schedules={len(self._schedules)}, calls={len(self.calls)})"

    # --- seeding ------------------------------------------------------------------------------------------------

    def add_api_key(self, *, can_read: bool = True) -> str:
        """A REST API key; one that cannot read is answered 403, as a key of a user without access is."""
        key = "u+" + secrets.token_urlsafe(15)
        self._keys[key] = can_read
        return key

    def add_user(self, user_id: str, *, name: str, email: str) -> None:
        self._users[user_id] = {"name": name, "email": email}

    def add_schedule(self, schedule_id: str, *, name: str,
                     shifts: Iterable[tuple[str, datetime | None, datetime | None]] = ()) -> None:
        self._schedules[schedule_id] = _Schedule(id=schedule_id, name=name, shifts=list(shifts))

    def set_shifts(self, schedule_id: str, shifts: Iterable[tuple[str, datetime | None, datetime | None]]) -> None:
        with self._lock:
            self._schedules[schedule_id].shifts = list(shifts)

    def fail_next(self, *, status: int = 503, count: int = 1, operation_id: str | None = None,
                  reset: float | None = None) -> None:
        """The next `count` matching requests are answered `status` (a 429 with `ratelimit-reset`, 1 s unless given)."""
        with self._lock:
            self._fail += [(status, operation_id, reset)] * count

    def count(self, operation_id: str) -> int:
        return sum(1 for c in self.calls if c.operation_id == operation_id)

    # --- serving ------------------------------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: Sequence[tuple[str, str]], headers: dict[str, str]
               ) -> tuple[int, dict[str, str], bytes]:
        lowered = {k.lower(): v for k, v in headers.items()}
        operation, params = _route(method.upper(), unquote(path))
        try:
            with self._lock:
                body = self._answer(operation, params, list(query), lowered)
            status, extra = 200, {}
        except _Failure as failure:
            code, message = ERRORS.get(failure.status, (2000, "Error"))
            body = {"error": {"code": code, "message": message, **({"errors": failure.errors} if failure.errors
                                                                    else {})}}
            status, extra = failure.status, failure.headers
        self._note(RecordedCall(method=method.upper(), path=path, query=list(query), headers=_safe(lowered),
                                operation_id=operation, status=status))
        return status, {"Content-Type": "application/json", **extra}, json.dumps(body).encode()

    def _answer(self, operation: str | None, params: dict[str, str], query: list[tuple[str, str]],
                headers: dict[str, str]) -> dict[str, Any]:
        self._authorize(headers)
        if operation is None:
            raise _Failure(404)
        if headers.get("accept") != ACCEPT:
            raise _Failure(400, f"Accept must be {ACCEPT}")
        unknown = sorted({name for name, _ in query} - QUERY[operation])
        if unknown:
            raise _Failure(400, *(f"{name} is not a valid parameter" for name in unknown))
        self._injected(operation)
        if operation == "getSchedule":
            schedule = self._schedules.get(params["id"])
            if schedule is None:
                raise _Failure(404)
            return {"schedule": {"id": schedule.id, "type": "schedule", "name": schedule.name,
                                 "summary": schedule.name, "time_zone": "UTC"}}
        return self._on_calls(query)

    def _authorize(self, headers: dict[str, str]) -> None:
        scheme, _, key = headers.get("authorization", "").partition("token=")
        if scheme.strip() != "Token" or key not in self._keys:
            raise _Failure(401)
        if not self._keys[key]:
            raise _Failure(403)

    def _injected(self, operation: str) -> None:
        for index, (status, only, reset) in enumerate(self._fail):
            if only in (None, operation):
                del self._fail[index]
                headers = {"ratelimit-limit": "960", "ratelimit-remaining": "0",
                           "ratelimit-reset": str(int(reset if reset is not None else 1))} if status == 429 else {}
                raise _Failure(status, headers=headers)

    def _on_calls(self, query: list[tuple[str, str]]) -> dict[str, Any]:
        values: dict[str, list[str]] = {}
        for name, value in query:
            values.setdefault(name, []).append(value)
        limit, offset = _number(values, "limit", 25), _number(values, "offset", 0)
        if not 1 <= limit <= MAX_LIMIT or offset < 0:
            raise _Failure(400, "limit must be from 1 to 100, offset at least 0")
        for name in ("include[]",):
            if any(v not in ("escalation_policies", "users", "schedules") for v in values.get(name, [])):
                raise _Failure(400, f"{name} has a value that is not allowed")
        wanted = values.get("schedule_ids[]")
        now = self._now()
        entries = [self._entry(schedule, user, start, end, "users" in values.get("include[]", []))
                   for schedule in self._schedules.values() if wanted is None or schedule.id in wanted
                   for user, start, end in schedule.shifts
                   if (start is None or start <= now) and (end is None or now < end)]
        page = entries[offset:offset + limit]
        return {"oncalls": page, "limit": limit, "offset": offset, "more": offset + limit < len(entries),
                "total": None}

    def _entry(self, schedule: _Schedule, user_id: str, start: datetime | None, end: datetime | None,
               full_users: bool) -> dict[str, Any]:
        person = self._users.get(user_id, {"name": user_id, "email": ""})
        user: dict[str, Any] = {"id": user_id, "type": "user_reference", "summary": person["name"],
                                "self": f"https://api.pagerduty.com/users/{user_id}"}
        if full_users:
            user |= {"type": "user", "name": person["name"], "email": person["email"]}
        return {"user": user, "escalation_level": 1,
                "schedule": {"id": schedule.id, "type": "schedule_reference", "summary": schedule.name},
                "escalation_policy": {"id": "PEP" + schedule.id, "type": "escalation_policy_reference"},
                "start": _iso(start), "end": _iso(end)}

    def _now(self) -> datetime:
        now = self._clock.now() if self._clock is not None else datetime.now(UTC)
        return now if now.tzinfo is not None else now.replace(tzinfo=UTC)

    def _note(self, call: RecordedCall) -> None:
        with self._lock:
            self.calls.append(call)
            if self._record:
                with open(self._record, "a", encoding="utf-8") as handle:
                    handle.write(json.dumps({"vendor": "pagerduty", **asdict(call)}) + "\n")


class PagerDutyTransport(httpx.BaseTransport):
    """Hands each request to `PagerDutySandbox.handle`; with `down` set, no answer at all."""

    def __init__(self, sandbox: PagerDutySandbox) -> None:
        self.sandbox = sandbox

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.sandbox.down:
            raise httpx.ConnectError("PagerDuty sandbox is down", request=request)
        path, _, query = request.url.raw_path.decode("ascii").partition("?")
        status, headers, body = self.sandbox.handle(request.method, path, parse_qsl(query, keep_blank_values=True),
                                                    dict(request.headers))
        return httpx.Response(status, headers=headers, content=body, request=request)


def _route(method: str, path: str) -> tuple[str | None, dict[str, str]]:
    if method == "GET" and path == "/oncalls":
        return "listOnCalls", {}
    parts = path.strip("/").split("/")
    if method == "GET" and len(parts) == 2 and parts[0] == "schedules" and parts[1]:
        return "getSchedule", {"id": parts[1]}
    return None, {}


def _number(values: dict[str, list[str]], name: str, default: int) -> int:
    raw = values.get(name, [str(default)])[-1]
    try:
        return int(raw)
    except ValueError:
        raise _Failure(400, f"{name} must be a whole number") from None


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _safe(headers: dict[str, str]) -> dict[str, str]:
    cleaned = dict(headers)
    if "authorization" in cleaned:
        cleaned["authorization"] = cleaned["authorization"].strip().split(" ", 1)[0]
    return cleaned

"""PagerDuty as the domain's on-call provider (`access.ports.OnCall` and `OnCallCheck`).

`shifts` reads `GET /oncalls` with `schedule_ids[]`, `earliest=true` and `include[]=users` (so each entry carries
the person's email), every page, and keeps the answer for at most a minute (`MAX_TTL_SECONDS`): the request modal
and the submission a moment later ask the same question, and a minute is as stale as an on-call answer may be.
Failures are not kept: the next question asks PagerDuty again.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import httpx

from access.config import IntegrationSpec
from access.connections import PagerDutyConnection, literal_pagerduty
from access.errors import CredentialsMissing, GatewayRefused
from access.model import OnCallCheckResult, OnCallShift, ScheduleSeen
from access.ports import Clock, OnCall, OnCallCheck
from pagerduty.client import DEFAULT_BASE_URL, PagerDutyClient

MAX_TTL_SECONDS = 60.0
PROVIDER = "pagerduty"


class PagerDutyOnCall:
    def __init__(self, *, clock: Clock, base_url: str = DEFAULT_BASE_URL,
                 transport: Callable[[], httpx.BaseTransport | None] = lambda: None,
                 ttl_seconds: float = MAX_TTL_SECONDS, env: Mapping[str, str] | None = None) -> None:
        if not 0 <= ttl_seconds <= MAX_TTL_SECONDS:
            raise ValueError(f"on-call answers are kept 0 to {MAX_TTL_SECONDS:g} seconds")
        self._clock, self._base_url, self._transport = clock, base_url, transport
        self._ttl = timedelta(seconds=ttl_seconds)
        self._env = env if env is not None else os.environ
        self._cache: dict[tuple[str, ...], tuple[datetime, tuple[OnCallShift, ...]]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"PagerDutyOnCall({self._base_url}, ttl={self._ttl.total_seconds():g}s)"

    # --- OnCall -----------------------------------------------------------------------------------------------

    def shifts(self, *, integration: IntegrationSpec, schedules: Sequence[str]) -> tuple[OnCallShift, ...]:
        if integration.pagerduty is None:
            raise CredentialsMissing(f"integration {integration.name} has no PagerDuty connection")
        key = literal_pagerduty(integration.pagerduty, env=self._env, integration=integration.name).api_key
        assert key is not None
        wanted = tuple(sorted(set(schedules)))
        cache_key = (hashlib.sha256(key.get_secret_value().encode()).hexdigest(), *wanted)
        now = self._clock.now()
        with self._lock:
            kept = self._cache.get(cache_key)
        if kept is not None and now - kept[0] < self._ttl:
            return kept[1]
        with self._client(key.get_secret_value()) as client:
            found = self._on_call_now(client, wanted)
        with self._lock:
            self._cache[cache_key] = (now, found)
        return found

    def _on_call_now(self, client: PagerDutyClient, schedules: tuple[str, ...]) -> tuple[OnCallShift, ...]:
        params = [*(("schedule_ids[]", s) for s in schedules), ("earliest", "true"), ("include[]", "users")]
        found = []
        for entry in client.paginate("listOnCalls", "/oncalls", "oncalls", params):
            schedule, user = entry.get("schedule") or {}, entry.get("user") or {}
            if schedule.get("id") not in schedules:
                continue  # an escalation rule that targets the person directly, not through the schedule
            found.append(OnCallShift(
                schedule_id=str(schedule["id"]), schedule_name=str(schedule.get("summary") or schedule["id"]),
                email=str(user.get("email") or ""), user_name=str(user.get("name") or user.get("summary") or ""),
                start=_moment(entry.get("start")), end=_moment(entry.get("end"))))
        return tuple(found)

    # --- OnCallCheck ------------------------------------------------------------------------------------------

    def check_on_call(self, *, connection: PagerDutyConnection, schedules: Sequence[str]) -> OnCallCheckResult:
        """The key against `GET /schedules/{id}` for each schedule (404: no such schedule), or one on-call page
        when no schedule is named yet."""
        key = literal_pagerduty(connection, env=self._env).api_key
        assert key is not None
        seen = []
        with self._client(key.get_secret_value()) as client:
            if not schedules:
                client.get("listOnCalls", "/oncalls", [("limit", "1")])
            for schedule in dict.fromkeys(schedules):
                try:
                    answer = client.get("getSchedule", f"/schedules/{schedule}")
                except GatewayRefused as refused:
                    if refused.status != 404:
                        raise
                    seen.append(ScheduleSeen(id=schedule, name=None))
                    continue
                body = answer.get("schedule") or {}
                seen.append(ScheduleSeen(id=schedule, name=str(body.get("name") or body.get("summary") or schedule)))
        return OnCallCheckResult(provider=PROVIDER, schedules=tuple(seen))

    def _client(self, key: str) -> PagerDutyClient:
        return PagerDutyClient(api_key=key, base_url=self._base_url, transport=self._transport())


def _moment(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


if TYPE_CHECKING:

    def _implements_the_ports(adapter: PagerDutyOnCall) -> tuple[OnCall, OnCallCheck]:
        return adapter, adapter  # mypy proves it satisfies access.ports.OnCall and OnCallCheck

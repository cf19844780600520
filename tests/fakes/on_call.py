"""FakeOnCall: an on-call provider as the `OnCall` and `OnCallCheck` ports answer about it (checked against
`pagerduty.on_call.PagerDutyOnCall` over the PagerDuty sandbox by tests/contracts).

Shifts are seeded per schedule; `shifts` answers those that cover the clock's now, for the schedules asked (each
person with the provider's email, as written); a schedule it does not know has nobody on call, as PagerDuty's
filter answers (Test connection names it: `check_on_call`). A key it does not know is a GatewayUnauthorized 401,
and `trouble` makes every question a GatewayUnreachable, as the real adapter's failures are. Changes show at
once, as the real one with a cache time of zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from access.config import IntegrationSpec
from access.connections import PagerDutyConnection
from access.errors import GatewayUnauthorized, GatewayUnreachable
from access.model import OnCallCheckResult, OnCallShift, ScheduleSeen
from access.ports import Clock


@dataclass
class _Schedule:
    name: str
    shifts: list[tuple[str, str, datetime | None, datetime | None]] = field(default_factory=list)


@dataclass
class FakeOnCall:
    clock: Clock
    keys: set[str] = field(default_factory=set)
    trouble: bool = False  # PagerDuty unreachable
    questions: int = 0
    _schedules: dict[str, _Schedule] = field(default_factory=dict)

    def add_schedule(self, schedule_id: str, name: str) -> FakeOnCall:
        self._schedules[schedule_id] = _Schedule(name=name)
        return self

    def put_on_call(self, schedule_id: str, *, email: str, name: str = "", start: datetime | None = None,
                    end: datetime | None = None) -> None:
        self._schedules[schedule_id].shifts.append((email, name, start, end))

    def clear(self, schedule_id: str) -> None:
        self._schedules[schedule_id].shifts.clear()

    # --- the ports ---------------------------------------------------------------------------------------------

    def shifts(self, *, integration: IntegrationSpec, schedules: Sequence[str]) -> tuple[OnCallShift, ...]:
        self.questions += 1
        self._authorize(integration.pagerduty)
        now = self.clock.now()
        known = [sid for sid in dict.fromkeys(schedules) if sid in self._schedules]
        return tuple(OnCallShift(schedule_id=sid, schedule_name=self._schedules[sid].name, email=email,
                                 user_name=name, start=start, end=end)
                     for sid in known for email, name, start, end in self._schedules[sid].shifts
                     if (start is None or start <= now) and (end is None or now < end))

    def check_on_call(self, *, connection: PagerDutyConnection, schedules: Sequence[str]) -> OnCallCheckResult:
        self._authorize(connection)
        return OnCallCheckResult(provider="pagerduty", schedules=tuple(
            ScheduleSeen(id=s, name=self._schedules[s].name if s in self._schedules else None)
            for s in dict.fromkeys(schedules)))

    def _authorize(self, connection: PagerDutyConnection | None) -> None:
        if self.trouble:
            raise GatewayUnreachable("PagerDuty did not answer (ConnectError)", operation="listOnCalls")
        key = connection.api_key.get_secret_value() if connection and connection.api_key else None
        if key not in self.keys:
            raise GatewayUnauthorized("PagerDuty answered 401: Invalid Credentials", operation="listOnCalls",
                                      status=401)

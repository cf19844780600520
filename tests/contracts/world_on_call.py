"""The OnCall / OnCallCheck contract's worlds: FakeOnCall, and `pagerduty.on_call.PagerDutyOnCall` over the
PagerDuty sandbox (its cache time zero, so a change counts at once), seeded alike."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from access.config import IntegrationSpec
from access.connections import PagerDutyConnection
from access.ports import OnCall, OnCallCheck
from pagerduty.on_call import PagerDutyOnCall
from pagerduty.sandbox import PagerDutySandbox, PagerDutyTransport
from tests.fakes import FakeOnCall, ManualClock

ORG_ID = "5f1a2b3c4d5e6f7a8b9c0d1e"


class OnCallPort(OnCall, OnCallCheck, Protocol):
    pass


class OnCallWorld(Protocol):
    real: bool
    clock: ManualClock
    port: OnCallPort
    key: str

    def add_schedule(self, schedule_id: str, name: str) -> None: ...
    def put_on_call(self, schedule_id: str, *, email: str, start: datetime | None, end: datetime | None) -> None: ...
    def trouble(self, on: bool) -> None: ...

    def integration(self, key: str | None = None) -> IntegrationSpec: ...


def _integration(key: str) -> IntegrationSpec:
    return IntegrationSpec.model_validate({
        "name": "prod", "organization_id": ORG_ID, "approval_channel": "C0APPROVALS",
        "credentials": {"type": "api_key", "public_key": "pub", "private_key": "priv"},
        "pagerduty": {"api_key": key}})


class FakeOnCallWorld:
    real = False

    def __init__(self) -> None:
        self.clock = ManualClock()
        self.key = "u+contract-key"
        self.fake = FakeOnCall(clock=self.clock, keys={self.key})
        self.port: OnCallPort = self.fake

    def add_schedule(self, schedule_id: str, name: str) -> None:
        self.fake.add_schedule(schedule_id, name)

    def put_on_call(self, schedule_id: str, *, email: str, start: datetime | None, end: datetime | None) -> None:
        self.fake.put_on_call(schedule_id, email=email, start=start, end=end)

    def trouble(self, on: bool) -> None:
        self.fake.trouble = on

    def integration(self, key: str | None = None) -> IntegrationSpec:
        return _integration(key or self.key)


class SandboxOnCallWorld:
    real = True

    def __init__(self) -> None:
        self.clock = ManualClock()
        self.sandbox = PagerDutySandbox(clock=self.clock)
        self.key = self.sandbox.add_api_key()
        self.port: OnCallPort = PagerDutyOnCall(clock=self.clock, ttl_seconds=0,
                                                transport=lambda: PagerDutyTransport(self.sandbox))
        self._people = 0
        self._shifts: dict[str, list[tuple[str, datetime | None, datetime | None]]] = {}

    def add_schedule(self, schedule_id: str, name: str) -> None:
        self.sandbox.add_schedule(schedule_id, name=name)
        self._shifts[schedule_id] = []

    def put_on_call(self, schedule_id: str, *, email: str, start: datetime | None, end: datetime | None) -> None:
        self._people += 1
        user = f"PU{self._people:05d}"
        self.sandbox.add_user(user, name=email.split("@")[0], email=email)
        self._shifts[schedule_id].append((user, start, end))
        self.sandbox.set_shifts(schedule_id, self._shifts[schedule_id])

    def trouble(self, on: bool) -> None:
        self.sandbox.down = on

    def integration(self, key: str | None = None) -> IntegrationSpec:
        return _integration(key or self.key)


__all__ = ["FakeOnCallWorld", "OnCallWorld", "PagerDutyConnection", "SandboxOnCallWorld"]

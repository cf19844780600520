"""Column types that give the domain back exactly what it stored: UTC-aware datetimes, tuples, enums, approvals.

Each is a TypeDecorator over a plain SQL type (DATETIME/TIMESTAMPTZ, VARCHAR, JSON), so the database schema
stays portable and Alembic renders the plain type (see `storage/migrations/env.py`). Reads and writes go
through these on both SQLite and PostgreSQL, so an entity maps to a row and back with one line each way.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, DateTime, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from access.entities import Approval, StepRule
from access.model import OnCallNote, OnCallOutcome


def as_utc(moment: datetime) -> datetime:
    """`moment` as timezone-aware UTC; a naive value is taken to be UTC already (SQLite hands those back)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC and always read back timezone-aware.

    PostgreSQL keeps it as TIMESTAMPTZ. SQLite has no time zones: it stores naive UTC text, which also
    keeps its string comparisons (`expires_at <= :now`) in time order.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        utc = as_utc(value)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


class StrTuple(TypeDecorator[tuple[str, ...]]):
    """A tuple of strings as a JSON list."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> list[str] | None:
        return None if value is None else [str(item) for item in value]

    def process_result_value(self, value: Any, dialect: Dialect) -> tuple[str, ...] | None:
        return None if value is None else tuple(value)


class RolesByProject(TypeDecorator[dict[str, tuple[str, ...]]]):
    """Project id -> roles, as a JSON object of sorted lists."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> dict[str, list[str]] | None:
        return None if value is None else {str(k): sorted(v) for k, v in value.items()}

    def process_result_value(self, value: Any, dialect: Dialect) -> dict[str, tuple[str, ...]] | None:
        return None if value is None else {k: tuple(v) for k, v in value.items()}


class Approvals(TypeDecorator[tuple[Approval, ...]]):
    """A request's approvals as a JSON list of `{"user_id": ..., "at": ISO 8601 UTC}`, with `seconds` and `reason`
    when the approver gave them ("Approve for…")."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> list[dict[str, Any]] | None:
        if value is None:
            return None
        return [{"user_id": a.user_id, "at": as_utc(a.at).isoformat(),
                 **({"seconds": a.seconds} if a.seconds is not None else {}),
                 **({"reason": a.reason} if a.reason is not None else {}),
                 **({"step": a.step} if a.step is not None else {})} for a in value]

    def process_result_value(self, value: Any, dialect: Dialect) -> tuple[Approval, ...] | None:
        if value is None:
            return None
        return tuple(Approval(user_id=a["user_id"], at=as_utc(datetime.fromisoformat(a["at"])),
                              seconds=a.get("seconds"), reason=a.get("reason"), step=a.get("step")) for a in value)


class StepRules(TypeDecorator[tuple[StepRule, ...]]):
    """A request's approval steps as a JSON list of `{"approvers": [...] or null, "required": n}`; NULL: none."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> list[dict[str, Any]] | None:
        if not value:
            return None
        return [{"approvers": list(r.approvers) if r.approvers is not None else None, "required": r.required}
                for r in value]

    def process_result_value(self, value: Any, dialect: Dialect) -> tuple[StepRule, ...]:
        if not value:
            return ()
        return tuple(StepRule(approvers=tuple(r["approvers"]) if r.get("approvers") is not None else None,
                              required=int(r.get("required", 1))) for r in value)


class EnumText(TypeDecorator[StrEnum]):
    """A StrEnum stored as its value in a VARCHAR (no native enum type: adding a state needs no migration)."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[StrEnum], length: int = 32) -> None:
        super().__init__(length=length)
        self.enum = enum

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> StrEnum | None:
        return None if value is None else self.enum(value)


class OnCallNotes(TypeDecorator[OnCallNote]):
    """What a request's on-call check found (access.model.OnCallNote), as a JSON object with ISO 8601 UTC times."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> dict[str, Any] | None:
        if value is None:
            return None
        data = {"outcome": value.outcome.value, "provider": value.provider, "schedules": list(value.schedules),
                "schedule_id": value.schedule_id, "schedule_name": value.schedule_name, "problem": value.problem}
        for name in ("shift_start", "shift_end"):
            moment = getattr(value, name)
            data[name] = as_utc(moment).isoformat() if moment is not None else None
        return data

    def process_result_value(self, value: Any, dialect: Dialect) -> OnCallNote | None:
        if value is None:
            return None
        times = {name: as_utc(datetime.fromisoformat(value[name])) if value.get(name) else None
                 for name in ("shift_start", "shift_end")}
        return OnCallNote(outcome=OnCallOutcome(value["outcome"]), provider=str(value["provider"]),
                          schedules=tuple(value.get("schedules") or ()), schedule_id=value.get("schedule_id"),
                          schedule_name=value.get("schedule_name"), problem=value.get("problem"), **times)

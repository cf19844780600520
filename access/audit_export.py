"""The audit trail as a file: CSV or JSON, one row per event, in documented columns, with secrets kept out.

`atlas-access audit export` prints it; `/atlas-admin audit` sends the same file to an admin's DM. Columns,
in this order (JSON objects use the same keys):

    id           the event's number; later events have larger numbers
    at           when it happened: ISO 8601 in UTC, to the second (2026-11-28T13:05:00Z)
    actor        who did it: a Slack user id (U…), or `system` (grant worker, sync), `cli` (the command line),
                 `auto` (an auto-approving flow)
    action       what happened: requested, approved, approval_added, denied, cancelled, refused, granted,
                 invited, activated, revoked, grant_failed, grant_retry, revoke_failed, break_glass,
                 break_glass_reviewed, credentials_undelivered, credentials_revealed, credentials_unrevealed,
                 synced, sync_failed, config_applied, integration_saved, flow_saved, admin_refused, audit_exported, ...
    integration  the integration it concerns; empty for events about the whole configuration
    request_id   the access request it concerns, if any
    grant_id     the grant it concerns, if any
    detail       everything else about the event, as one JSON object with sorted keys

Secrets never leave: the store already redacts secret-named keys when it writes an event, and the export
redacts them again (`private_key`, `client_secret`, `password`, `token`, ... at any depth), so an event
written by an older release cannot leak one either. CSV cells that a spreadsheet would run as a formula
(starting with = + - @, a tab or a carriage return) are prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from access.config import parse_duration
from access.entities import AuditEvent
from access.errors import FieldErrors
from access.model import utc_iso
from access.ports import Clock, Store

COLUMNS = ("id", "at", "actor", "action", "integration", "request_id", "grant_id", "detail")
DEFAULT_SINCE = "30d"
REDACTED = "<redacted>"
_SECRET_WORDS = ("private_key", "client_secret", "secret", "password", "passwd", "token", "authorization", "api_key")
_SECRET_KEY = re.compile(r"^(?:.*[_\-.])?(?:" + "|".join(_SECRET_WORDS) + r")(?:[_\-.].*)?$", re.IGNORECASE)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ExportFormat(StrEnum):
    CSV = "csv"
    JSON = "json"


@dataclass(frozen=True, kw_only=True)
class AuditQuery:
    """Which events: since a moment (None: all of them) and of one integration (None: every one)."""

    since: datetime | None
    integration: str | None = None
    format: ExportFormat = ExportFormat.CSV


@dataclass(frozen=True, kw_only=True)
class AuditExport:
    filename: str
    content: str
    rows: int
    query: AuditQuery


OLDEST_SINCE = timedelta(days=36_500)  # `--since` reaches back further than a flow's durations may last


def parse_since(text: str, *, now: datetime) -> datetime | None:
    """`30d`, `12h`, `1d12h` back from now; a date `2026-11-01` (midnight UTC); an ISO time; or `all` (None)."""
    cleaned = text.strip()
    if cleaned.lower() == "all":
        return None
    try:
        return now - parse_duration(cleaned, longest=OLDEST_SINCE)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(cleaned.replace("Z", "+00:00"))
    except ValueError:
        raise FieldErrors({"since": f"'{text}' is not a time like 7d, 12h, 2026-11-01, 2026-11-01T09:00Z or all"}
                          ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_format(text: str) -> ExportFormat:
    try:
        return ExportFormat(text.strip().lower())
    except ValueError:
        raise FieldErrors({"format": f"'{text}' is not a format: use csv or json"}) from None


def redact(value: Any) -> Any:
    """`value` with the value of every secret-named key replaced, at any depth."""
    if isinstance(value, Mapping):
        return {str(k): REDACTED if _SECRET_KEY.match(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


def export_row(event: AuditEvent) -> dict[str, Any]:
    """One event in the export's columns (detail as a redacted mapping)."""
    return {"id": event.id, "at": utc_iso(event.at.astimezone(UTC)), "actor": event.actor, "action": event.action,
            "integration": event.integration, "request_id": event.request_id, "grant_id": event.grant_id,
            "detail": redact(event.detail)}


def to_csv(events: Iterable[AuditEvent]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for event in events:
        row = export_row(event)
        row["detail"] = json.dumps(row["detail"], sort_keys=True, ensure_ascii=False, default=str)
        writer.writerow([_cell(row[column]) for column in COLUMNS])
    return out.getvalue()


def to_json(events: Iterable[AuditEvent]) -> str:
    rows = [export_row(event) for event in events]
    return json.dumps(rows, indent=1, sort_keys=False, ensure_ascii=False, default=str) + "\n"


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def export_audit(*, store: Store, clock: Clock, query: AuditQuery, actor: str) -> AuditExport:
    """Read the events the query names, render them, and record that they were exported (by whom, which)."""
    with store.unit_of_work() as uow:
        events = list(uow.audit.query(since=query.since, integration=query.integration))
    render = to_json if query.format is ExportFormat.JSON else to_csv
    now = clock.now()
    export = AuditExport(filename=f"atlas-access-audit-{now:%Y%m%dT%H%M%SZ}.{query.format.value}",
                         content=render(events), rows=len(events), query=query)
    with store.unit_of_work() as uow:
        uow.audit.add(AuditEvent(at=now, actor=actor, action="audit_exported", integration=query.integration,
                                 detail={"format": query.format.value, "rows": export.rows,
                                         "since": utc_iso(query.since) if query.since else "all"}))
    return export


def describe(export: AuditExport) -> str:
    """One line about an export, for the command line and the DM."""
    since = f"since {utc_iso(export.query.since)}" if export.query.since else "from the start"
    scope = f" of integration {export.query.integration}" if export.query.integration else ""
    plural = "" if export.rows == 1 else "s"
    return f"{export.rows} audit event{plural}{scope} {since}, as {export.query.format.value.upper()}"

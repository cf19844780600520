"""The audit export's format: documented columns in order, UTC times, redacted secrets, safe CSV cells."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from access.audit_export import COLUMNS, ExportFormat, parse_format, parse_since, to_csv, to_json
from access.entities import AuditEvent
from access.errors import FieldErrors

NOW = datetime(2026, 11, 28, 13, 5, 7, 123456, tzinfo=UTC)
EVENTS = [
    AuditEvent(id=1, at=NOW - timedelta(hours=1), actor="U1", action="requested", integration="prod", request_id=3,
               detail={"resource": "payments", "roles": ["GROUP_READ_ONLY"]}),
    AuditEvent(id=2, at=NOW.astimezone(timezone(timedelta(hours=2))), actor="cli", action="config_applied",
               detail={"credentials": {"private_key": "oops-a-secret", "public_key": "abc"}, "token": "xoxb-1"}),
    AuditEvent(id=3, at=NOW, actor="=cmd|' /C calc'!A0", action="granted", integration="prod", request_id=3,
               grant_id=9, detail={"database_user": "ann-g9-abcdef"}),
]


def test_csv_has_the_documented_columns_and_one_row_per_event() -> None:
    rows = list(csv.DictReader(io.StringIO(to_csv(EVENTS))))
    assert tuple(rows[0]) == COLUMNS == ("id", "at", "actor", "action", "integration", "request_id", "grant_id",
                                         "detail")
    assert rows[0] == {"id": "1", "at": "2026-11-28T12:05:07Z", "actor": "U1", "action": "requested",
                       "integration": "prod", "request_id": "3", "grant_id": "",
                       "detail": '{"resource": "payments", "roles": ["GROUP_READ_ONLY"]}'}
    assert rows[1]["at"] == "2026-11-28T13:05:07Z"  # UTC whatever the zone it was recorded in
    assert rows[1]["integration"] == "" and json.loads(rows[1]["detail"])["credentials"]["public_key"] == "abc"


def test_secrets_never_leave_in_either_format() -> None:
    for content in (to_csv(EVENTS), to_json(EVENTS)):
        assert "oops-a-secret" not in content and "xoxb-1" not in content
        assert content.count("<redacted>") == 2


def test_a_cell_a_spreadsheet_would_run_is_defused() -> None:
    rows = list(csv.DictReader(io.StringIO(to_csv(EVENTS))))
    assert rows[2]["actor"] == "'=cmd|' /C calc'!A0"


def test_json_is_a_list_of_objects_with_the_same_keys_and_detail_as_an_object() -> None:
    rows = json.loads(to_json(EVENTS))
    assert [tuple(row) for row in rows] == [COLUMNS] * 3
    assert rows[2] == {"id": 3, "at": "2026-11-28T13:05:07Z", "actor": "=cmd|' /C calc'!A0", "action": "granted",
                       "integration": "prod", "request_id": 3, "grant_id": 9,
                       "detail": {"database_user": "ann-g9-abcdef"}}
    assert json.loads(to_json([])) == [] and to_csv([]) == ",".join(COLUMNS) + "\n"


@pytest.mark.parametrize(("text", "since"), [
    ("30d", NOW - timedelta(days=30)),
    ("12h", NOW - timedelta(hours=12)),
    ("1d12h", NOW - timedelta(days=1, hours=12)),
    ("400d", NOW - timedelta(days=400)),  # further back than a flow's durations may last
    ("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC)),
    ("2026-11-01T09:00Z", datetime(2026, 11, 1, 9, tzinfo=UTC)),
    ("2026-11-01T10:00:00+01:00", datetime(2026, 11, 1, 9, tzinfo=UTC)),
    ("all", None),
    ("ALL", None),
])
def test_since_reads_durations_dates_and_all(text: str, since: datetime | None) -> None:
    assert parse_since(text, now=NOW) == since


@pytest.mark.parametrize("text", ["yesterday", "", "7 weeks", "2026-13-01", "9999999999d", "9" * 20])
def test_a_since_that_means_nothing_is_a_field_error(text: str) -> None:
    with pytest.raises(FieldErrors) as raised:
        parse_since(text, now=NOW)
    assert "since" in raised.value.errors


def test_formats() -> None:
    assert parse_format("CSV") is ExportFormat.CSV and parse_format("json") is ExportFormat.JSON
    with pytest.raises(FieldErrors):
        parse_format("xml")

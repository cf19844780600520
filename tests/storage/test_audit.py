"""The audit trail: oldest first with filters, and no secret ever written into an event's detail."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, text

from access.entities import AuditEvent
from access.model import GrantStatus
from storage.audit import REDACTED, is_secret_key, scrub
from storage.store import SqlStore
from tests.storage import builders as b


def event(minutes: int = 0, **changes: object) -> AuditEvent:
    values: dict[str, object] = {"at": b.T0 + timedelta(minutes=minutes), "actor": "U0ADA", "action": "requested",
                                 "integration": "prod", "request_id": 7, "detail": {"resource": "payments"}}
    return AuditEvent(**{**values, **changes})  # type: ignore[arg-type]


def test_events_come_back_oldest_first_with_ids(store: SqlStore) -> None:
    with store.unit_of_work() as uow:
        uow.audit.add(event(2, action="approved", grant_id=3))
        uow.audit.add(event(1))
        uow.audit.add(event(2, action="granted", actor="system"))
    with store.unit_of_work() as uow:
        events = list(uow.audit.query())
    assert [e.action for e in events] == ["requested", "approved", "granted"]
    assert events[1] == event(2, action="approved", grant_id=3, id=events[1].id)
    assert all(e.id is not None and e.at.tzinfo is UTC for e in events)


def test_query_filters_by_time_and_integration_and_limits(store: SqlStore) -> None:
    with store.unit_of_work() as uow:
        for minute in range(5):
            uow.audit.add(event(minute, integration="prod" if minute % 2 == 0 else "dev"))
        uow.audit.add(event(9, integration=None, action="config_applied", request_id=None))
    with store.unit_of_work() as uow:
        since = [e.at for e in uow.audit.query(since=b.T0 + timedelta(minutes=2))]
        prod = [e.at.minute for e in uow.audit.query(integration="prod")]
        first_two = [e.at.minute for e in uow.audit.query(limit=2)]
    assert since == [b.T0 + timedelta(minutes=m) for m in (2, 3, 4, 9)]
    assert prod == [0, 2, 4] and first_two == [0, 1]


def test_secret_keys_are_redacted_at_any_depth(store: SqlStore, engine: Engine) -> None:
    # given an event whose detail carries secrets by mistake
    detail = {
        "resource": "payments",
        "private_key": "PRIV-1", "client_secret": "CS-2", "password": "PW-3", "token": "TK-4",
        "credentials": {"type": "api_key", "public_key": "pub", "Private_Key": "PRIV-5"},
        "steps": [{"slack_bot_token": "xoxb-6"}, {"note": SecretStr("SS-7")}],
        "secret": "S-8",
    }
    # when it is written
    with store.unit_of_work() as uow:
        uow.audit.add(event(detail=detail))
    # then neither the stored row nor the event read back holds any of them
    with engine.connect() as connection:
        raw = str(connection.execute(text("SELECT detail FROM audit_event")).scalar())
    for secret in ("PRIV-1", "CS-2", "PW-3", "TK-4", "PRIV-5", "xoxb-6", "SS-7", "S-8"):
        assert secret not in raw
    with store.unit_of_work() as uow:
        [stored] = uow.audit.query()
    assert stored.detail == {
        "resource": "payments",
        "private_key": REDACTED, "client_secret": REDACTED, "password": REDACTED, "token": REDACTED,
        "credentials": {"type": "api_key", "public_key": "pub", "Private_Key": REDACTED},
        "steps": [{"slack_bot_token": REDACTED}, {"note": REDACTED}],
        "secret": REDACTED,
    }


@pytest.mark.parametrize(("key", "secret"), [
    ("private_key", True), ("client_secret", True), ("api_key", True), ("slack_bot_token", True),
    ("password", True), ("token_value", True), ("Authorization", True),
    ("resource", False), ("tokens_used", False), ("public_key", False), ("reason", False), ("secretary", False),
])
def test_which_keys_count_as_secret(key: str, secret: bool) -> None:
    assert is_secret_key(key) is secret


def test_detail_is_made_json_safe() -> None:
    assert scrub({"at": b.T0, "status": GrantStatus.ACTIVE, "roles": ("A", "B"), "set": {"b", "a"},
                  "other": ValueError("HTTP 503")}) == {
        "at": "2026-01-05T09:00:00+00:00", "status": "active", "roles": ["A", "B"], "set": ["a", "b"],
        "other": "HTTP 503",
    }

"""The audit trail: append-only events, with secrets kept out of their `detail` by construction.

`detail` is scrubbed before it is written: any key that names a secret (`private_key`, `client_secret`,
`secret`, `password`, `token`, `authorization`, `api_key`, or a key ending or starting with one of them,
such as `slack_bot_token`) has its value replaced by `"<redacted>"`, at any depth, and so has any value
that is a pydantic `SecretStr`/`SecretBytes`. The rest is made JSON-safe (datetimes as ISO 8601, enums by
value, tuples and sets as lists, anything else as text) so an event can always be written.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from enum import Enum
from typing import Any

from pydantic import SecretBytes, SecretStr
from sqlalchemy import Connection, insert, select

from access.entities import AuditEvent
from storage.rows import entity, table_of, values
from storage.tables import AuditEventRow
from storage.types import as_utc

AUDIT = table_of(AuditEventRow)
REDACTED = "<redacted>"
SECRET_WORDS = ("private_key", "client_secret", "secret", "password", "passwd", "token", "authorization", "api_key")
_SECRET_KEY = re.compile(
    r"^(?:.*[_\-.])?(?:" + "|".join(SECRET_WORDS) + r")(?:[_\-.].*)?$", re.IGNORECASE
)


def is_secret_key(key: str) -> bool:
    return bool(_SECRET_KEY.match(key))


def scrub(value: Any) -> Any:
    """`value` as JSON-safe data with every secret-named key's value and every SecretStr redacted."""
    if isinstance(value, SecretStr | SecretBytes):
        return REDACTED
    if isinstance(value, Mapping):
        return {str(k): REDACTED if is_secret_key(str(k)) else scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [scrub(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    if isinstance(value, Enum):
        return scrub(value.value)
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


_INSERT = insert(AUDIT)


def _row(event: AuditEvent) -> dict[str, Any]:
    data = values(event)
    data.pop("id")
    data["detail"] = scrub(event.detail)
    return data


class SqlAuditLog:
    def __init__(self, session: Connection) -> None:
        self._session = session

    def add(self, event: AuditEvent) -> None:
        self._session.execute(_INSERT, _row(event))  # one statement built once; its columns come from the row

    def add_many(self, events: Sequence[AuditEvent]) -> None:
        if events:
            self._session.execute(_INSERT, [_row(event) for event in events])  # an executemany: one round trip

    def query(
        self, *, since: datetime | None = None, integration: str | None = None, limit: int | None = None
    ) -> Iterator[AuditEvent]:
        """Oldest first."""
        statement = select(AUDIT).order_by(AUDIT.c.at, AUDIT.c.id)
        if since is not None:
            statement = statement.where(AUDIT.c.at >= since)
        if integration is not None:
            statement = statement.where(AUDIT.c.integration == integration)
        if limit is not None:
            statement = statement.limit(limit)
        # Materialised: the caller may iterate after its unit of work has ended.
        return iter([entity(AuditEvent, row) for row in self._session.execute(statement)])

"""The access requests repository: add, read, and compare-and-set saves of AccessRequest."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Collection

from sqlalchemy import Connection, bindparam, select, text
from sqlalchemy.exc import IntegrityError

from access.entities import AccessRequest
from access.model import RequestStatus
from access.ports import Duplicate
from storage.rows import entity, insert_row, save_versioned, table_of, values
from storage.tables import AccessRequestRow

REQUEST = table_of(AccessRequestRow)


_GET = select(REQUEST).where(REQUEST.c.id == bindparam("id", type_=REQUEST.c.id.type))  # built once: per grant step
_GET_MANY = select(REQUEST).where(REQUEST.c.id.in_(bindparam("ids", expanding=True)))  # per claim of due grants
# The unique keys of access.once_only: PostgreSQL names the index, SQLite the column, in a violation's message.
_ONCE_ONLY_KEYS = ("submission_key", "pending_key")
_HOLD = text("SELECT pg_advisory_xact_lock(:key)")


def requester_lock_key(requester_id: str) -> int:
    """A signed 64-bit advisory lock key for one person's pending requests (its own namespace by the prefix)."""
    digest = hashlib.blake2b(f"pending-requests\x1f{requester_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class SqlRequestRepository:
    def __init__(self, session: Connection) -> None:
        self._session = session

    def add(self, request: AccessRequest) -> AccessRequest:
        data = values(request)
        data.pop("id")
        data["version"] = 1
        try:
            new_id = insert_row(self._session, REQUEST, data)
        except IntegrityError as error:
            if not any(key in str(error.orig) for key in _ONCE_ONLY_KEYS):
                raise
            # No chained error: its text carries the row's values. The session's transaction is spoilt (it is
            # rolled back as the unit of work ends); the caller reads what is stored in a new one.
            raise Duplicate("another request holds this submission or pending key") from None
        return dataclasses.replace(request, id=new_id, version=1)

    def get(self, request_id: int) -> AccessRequest | None:
        row = self._session.execute(_GET, {"id": request_id}).first()
        return None if row is None else entity(AccessRequest, row)

    def get_many(self, request_ids: Collection[int]) -> dict[int, AccessRequest]:
        if not request_ids:
            return {}
        rows = self._session.execute(_GET_MANY, {"ids": sorted(set(request_ids))})
        return {request.id or 0: request for request in (entity(AccessRequest, row) for row in rows)}

    def save(self, request: AccessRequest) -> AccessRequest:
        return save_versioned(self._session, REQUEST, request, what="request")

    def for_requester(self, requester_id: str, *, limit: int = 50) -> list[AccessRequest]:
        """Newest first."""
        statement = (
            select(REQUEST).where(REQUEST.c.requester_id == requester_id)
            .order_by(REQUEST.c.created_at.desc(), REQUEST.c.id.desc()).limit(limit)
        )
        return [entity(AccessRequest, row) for row in self._session.execute(statement)]

    def pending(self, *, limit: int = 1000) -> list[AccessRequest]:
        """Oldest first."""
        statement = (
            select(REQUEST).where(REQUEST.c.status == RequestStatus.PENDING)
            .order_by(REQUEST.c.created_at, REQUEST.c.id).limit(limit)
        )
        return [entity(AccessRequest, row) for row in self._session.execute(statement)]

    def pending_for(self, requester_id: str, *, limit: int = 1000) -> list[AccessRequest]:
        """One person's requests waiting for a decision, oldest first."""
        statement = (
            select(REQUEST).where(REQUEST.c.requester_id == requester_id, REQUEST.c.status == RequestStatus.PENDING)
            .order_by(REQUEST.c.created_at, REQUEST.c.id).limit(limit)
        )
        return [entity(AccessRequest, row) for row in self._session.execute(statement)]

    def hold_requester(self, requester_id: str) -> None:
        """PostgreSQL: a transaction-level advisory lock on the person, let go at commit or rollback. SQLite: the
        unit of work already holds the database's write lock from its first statement (BEGIN IMMEDIATE)."""
        if self._session.dialect.name == "postgresql":
            self._session.execute(_HOLD, {"key": requester_lock_key(requester_id)})

    def by_submission_key(self, key: str) -> AccessRequest | None:
        row = self._session.execute(select(REQUEST).where(REQUEST.c.submission_key == key)).first()
        return None if row is None else entity(AccessRequest, row)

    def in_group(self, group_id: str) -> list[AccessRequest]:
        statement = select(REQUEST).where(REQUEST.c.group_id == group_id).order_by(REQUEST.c.id)
        return [entity(AccessRequest, row) for row in self._session.execute(statement)]

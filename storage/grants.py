"""The grants repository: compare-and-set saves and the leased claim of due work that the worker runs on.

Claiming is one `UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING`: a lease
(`lease_owner`, `lease_until`) and a version bump, in the caller's unit of work. On PostgreSQL the row
locks keep concurrent claimers apart; SQLite renders no FOR UPDATE, but its unit of work began with
BEGIN IMMEDIATE and so is the only writer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    and_,
    bindparam,
    case,
    func,
    literal,
    or_,
    select,
    tuple_,
    update,
)

from access.entities import Grant
from access.model import REVOCATION_OWED, GrantFigures, GrantStatus, ResourceKind
from storage.rows import entity, insert_row, save_versioned, save_versioned_many, table_of, values
from storage.tables import GrantRow

GRANT = table_of(GrantRow)
G = GrantStatus
LIVE = (G.GRANTING, G.INVITED, G.ACTIVE, G.REVOKING, G.FAILED)
RETRIED = (G.GRANTING, G.INVITED, G.REVOKING, G.FAILED)  # due by next_attempt_at; ACTIVE is due by expires_at

# When a live grant's next piece of work falls due.
DUE_AT: ColumnElement[Any] = case((GRANT.c.status == G.ACTIVE, GRANT.c.expires_at), else_=GRANT.c.next_attempt_at)


def _due_at(grant: Grant) -> datetime:
    """DUE_AT of a claimed grant (it was due, so the moment is set)."""
    moment = grant.expires_at if grant.status is G.ACTIVE else grant.next_attempt_at
    return moment or datetime.min.replace(tzinfo=UTC)


def _due_for_claim(*columns: Any) -> Any:
    """The due rows' `columns`, oldest due first, at most `limit`, locked (skipping rows others locked)."""
    now = bindparam("now", type_=GRANT.c.expires_at.type)
    return (
        select(*columns)
        .where(or_(and_(GRANT.c.status == G.ACTIVE, GRANT.c.expires_at <= now),
                   and_(GRANT.c.status.in_(RETRIED), GRANT.c.next_attempt_at <= now)),
               or_(GRANT.c.lease_until.is_(None), GRANT.c.lease_until <= now))
        .order_by(DUE_AT, GRANT.c.id)
        .limit(bindparam("limit", type_=Integer))
        .with_for_update(skip_locked=True)
    )


def _lease() -> dict[str, Any]:
    return {"lease_owner": bindparam("owner", type_=GRANT.c.lease_owner.type),
            "lease_until": bindparam("until", type_=GRANT.c.lease_until.type), "version": GRANT.c.version + 1}


def _starting() -> dict[str, Any]:
    """The values of a claim that also starts revocations: the lease, and each ACTIVE grant not on a cluster moved
    to REVOKING, due now (`lifecycle.start_revocation`). SET reads the row as it was, so the CASE sees its status
    before the move."""
    now = bindparam("now", type_=GRANT.c.expires_at.type)
    starts = and_(GRANT.c.status == G.ACTIVE, GRANT.c.resource_kind != ResourceKind.CLUSTER)
    return {**_lease(), "status": case((starts, literal(G.REVOKING, GRANT.c.status.type)), else_=GRANT.c.status),
            "next_attempt_at": case((starts, now), else_=GRANT.c.next_attempt_at),
            "updated_at": case((starts, now), else_=GRANT.c.updated_at)}


def _claim_starting_statement() -> Any:
    """Lease the due rows the subquery locked, with `_starting`'s values, returning with each row its status before
    (`was`): RETURNING sees the row as written, so the status comes from the locked due rows it is joined to
    (UPDATE ... FROM). One statement, one round trip; PostgreSQL: SQLite's RETURNING cannot name the rows of a FROM.

    Built once with bound parameters (`now`, `limit`, `owner`, `until`): the worker runs it per claim, where
    building it anew and computing its cache key cost more than the round trip."""
    due = _due_for_claim(GRANT.c.id, GRANT.c.status.label("was")).subquery("due")
    return update(GRANT).where(GRANT.c.id == due.c.id).values(**_starting()).returning(*GRANT.c, due.c.was)


_CLAIM_STARTING = _claim_starting_statement()
# SQLite's two steps (its unit of work holds the write lock: nothing moves in between): the due rows, then those.
_DUE = _due_for_claim(GRANT.c.id, GRANT.c.status)
_CLAIM_STARTING_THESE = (update(GRANT).where(GRANT.c.id.in_(bindparam("ids", expanding=True))).values(**_starting())
                         .returning(*GRANT.c))
_LIVE_FOR = (select(GRANT)
             .where(GRANT.c.username == bindparam("username", type_=GRANT.c.username.type),
                    GRANT.c.resource_id == bindparam("resource_id", type_=GRANT.c.resource_id.type),
                    GRANT.c.status.in_(LIVE))
             .order_by(GRANT.c.id))
# Built once: the claim reads the others of everyone it moves to REVOKING, several times a second in a burst.
_LIVE_FOR_EACH = (select(GRANT)
                  .where(tuple_(GRANT.c.username, GRANT.c.resource_id).in_(bindparam("keys", expanding=True)),
                         GRANT.c.status.in_(LIVE), GRANT.c.id.not_in(bindparam("excluding", expanding=True)))
                  .order_by(GRANT.c.id))


def _next_due_statement() -> Any:
    leased_past_due = and_(GRANT.c.lease_until.is_not(None), GRANT.c.lease_until > DUE_AT)
    moment = func.min(case((leased_past_due, GRANT.c.lease_until), else_=DUE_AT))
    return select(moment).where(
        or_(
            and_(GRANT.c.status == G.ACTIVE, GRANT.c.expires_at.is_not(None)),
            and_(GRANT.c.status.in_(RETRIED), GRANT.c.next_attempt_at.is_not(None)),
        )
    )


_NEXT_DUE = _next_due_statement()


class SqlGrantRepository:
    def __init__(self, session: Connection) -> None:
        self._session = session

    def add(self, grant: Grant) -> Grant:
        data = values(grant)
        data.pop("id")
        data["version"] = 1
        return dataclasses.replace(grant, id=insert_row(self._session, GRANT, data), version=1)

    def get(self, grant_id: int) -> Grant | None:
        return self._one(GRANT.c.id == grant_id)

    def for_request(self, request_id: int) -> Grant | None:
        return self._one(GRANT.c.request_id == request_id)

    def save(self, grant: Grant, *, since: Grant | None = None) -> Grant:
        return save_versioned(self._session, GRANT, grant, what="grant", since=since)

    def save_many(self, changes: Sequence[tuple[Grant, Grant | None]]) -> list[Grant]:
        return save_versioned_many(self._session, GRANT, changes, what="grant")

    def live_for(self, *, username: str, resource_id: str) -> list[Grant]:
        rows = self._session.execute(_LIVE_FOR, {"username": username, "resource_id": resource_id})
        return [entity(Grant, row) for row in rows]

    def live_for_each(self, keys: list[tuple[str, str]], *, excluding: Collection[int] = ()) -> list[Grant]:
        if not keys:
            return []
        rows = self._session.execute(_LIVE_FOR_EACH, {"keys": sorted(set(keys)), "excluding": sorted(excluding)})
        return [entity(Grant, row) for row in rows]

    def live_with_network(self, *, group_id: str, cidr: str) -> list[Grant]:
        return self._many(
            GRANT.c.network_entry == cidr, GRANT.c.network_added.is_(True), GRANT.c.status.in_(LIVE),
            GRANT.c.resource_id.startswith(f"{group_id}/", autoescape=True), order=(GRANT.c.id,),
        )

    def for_requester(self, requester_id: str, *, statuses: tuple[GrantStatus, ...]) -> list[Grant]:
        """Newest first."""
        return self._many(
            GRANT.c.requester_id == requester_id, GRANT.c.status.in_(statuses),
            order=(GRANT.c.created_at.desc(), GRANT.c.id.desc()),
        )

    def live_resources(self) -> list[tuple[str, str, ResourceKind]]:
        statement = (select(GRANT.c.integration, GRANT.c.resource_id, GRANT.c.resource_kind).distinct()
                     .where(GRANT.c.status.in_(LIVE))
                     .order_by(GRANT.c.integration, GRANT.c.resource_id, GRANT.c.resource_kind))
        return [(str(i), str(r), ResourceKind(k)) for i, r, k in self._session.execute(statement)]

    def live(self, *, integration: str | None = None, resource: str = "", person: str | None = None,
             offset: int = 0, limit: int = 20) -> tuple[list[Grant], int]:
        """Live grants matching the filters, oldest first, and how many match (see the port)."""
        conditions: list[ColumnElement[bool]] = [GRANT.c.status.in_(LIVE)]
        if integration is not None:
            conditions.append(GRANT.c.integration == integration)
        if resource:
            conditions.append(func.lower(GRANT.c.resource_name).contains(resource.lower(), autoescape=True))
        if person:
            conditions.append(or_(GRANT.c.requester_id == person, func.lower(GRANT.c.username) == person.lower()))
        total = int(self._session.execute(select(func.count()).select_from(GRANT).where(*conditions)).scalar_one())
        statement = select(GRANT).where(*conditions).order_by(GRANT.c.id).offset(max(offset, 0)).limit(max(limit, 0))
        return [entity(Grant, row) for row in self._session.execute(statement)], total

    def claim_due_starting_revocations(self, *, now: datetime, owner: str, lease_seconds: float,
                                       limit: int) -> tuple[list[Grant], frozenset[int]]:
        """See `access.ports.GrantRepository.claim_due_starting_revocations`.

        A live lease excludes a row whoever holds it, this owner included: the threads of one process
        share an owner id, and two of them must not work the same grant at once."""
        until = now + timedelta(seconds=lease_seconds)
        parameters = {"now": now, "limit": limit, "owner": owner, "until": until}
        found: list[Grant] = []
        was: dict[int | None, Any] = {}
        if self._session.dialect.name == "postgresql":  # one statement
            for row in self._session.execute(_CLAIM_STARTING, parameters):
                fields = dict(row._mapping)
                status = fields.pop("was")
                found.append(Grant(**fields))
                was[found[-1].id] = status
        else:
            was = {row.id: row.status for row in self._session.execute(_DUE, parameters)}
            found = [entity(Grant, row) for row in self._session.execute(
                _CLAIM_STARTING_THESE, parameters | {"ids": list(was)})] if was else []
        started = frozenset(g.id or 0 for g in found if G(was[g.id]) is G.ACTIVE and g.status is G.REVOKING)
        # Oldest due first: a grant moved here was due at its expiry.
        return sorted(found, key=lambda g: (g.expires_at or _due_at(g) if g.id in started else _due_at(g),
                                            g.id or 0)), started

    def expiring(self, *, before: datetime, limit: int) -> list[Grant]:
        return self._many(GRANT.c.status == G.ACTIVE, GRANT.c.reminder_sent_at.is_(None),
                          GRANT.c.expires_at <= before, order=(GRANT.c.expires_at, GRANT.c.id), limit=limit)

    def next_due_at(self) -> datetime | None:
        """The earliest moment a claim would return something (a live lease postpones its row)."""
        result: datetime | None = self._session.execute(_NEXT_DUE).scalar()
        return result

    def count_by_status(self) -> dict[GrantStatus, int]:
        """Every status, zero included."""
        counts = dict.fromkeys(GrantStatus, 0)
        statement = select(GRANT.c.status, func.count()).group_by(GRANT.c.status)
        for status, count in self._session.execute(statement):
            counts[status] = count
        return counts

    def figures(self, *, now: datetime, grace: timedelta) -> GrantFigures:
        """Counts by status, and the revocations still owed `grace` after their expiry (with the oldest's age)."""
        owed = and_(GRANT.c.status.in_(REVOCATION_OWED), GRANT.c.expires_at.is_not(None),
                    GRANT.c.expires_at <= now - grace)
        count, oldest = self._session.execute(select(func.count(), func.min(GRANT.c.expires_at)).where(owed)).one()
        age = (now - _aware(oldest, now)).total_seconds() if oldest is not None else 0.0
        return GrantFigures(by_status=self.count_by_status(), overdue=int(count), oldest_overdue_seconds=max(0.0, age))

    def _one(self, condition: ColumnElement[bool]) -> Grant | None:
        row = self._session.execute(select(GRANT).where(condition)).first()
        return None if row is None else entity(Grant, row)

    def _many(self, *conditions: ColumnElement[bool], order: tuple[Any, ...], limit: int | None = None) -> list[Grant]:
        statement = select(GRANT).where(*conditions).order_by(*order).limit(limit)
        return [entity(Grant, row) for row in self._session.execute(statement)]


def _aware(moment: datetime, like: datetime) -> datetime:
    """An aggregate's datetime may come back naive from SQLite (stored in UTC): compare like with like."""
    return moment.replace(tzinfo=like.tzinfo) if moment.tzinfo is None else moment

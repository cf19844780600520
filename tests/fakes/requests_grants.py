"""The memory store's requests, grants and audit log: the same filters, orders, unique keys and compare-and-set
as `storage.requests`, `storage.grants` and `storage.audit`."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Iterator, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

from access import lifecycle
from access.entities import AccessRequest, AuditEvent, Grant
from access.model import GrantStatus, RequestStatus, ResourceKind
from access.ports import Duplicate, StaleWrite
from tests.fakes.tables import Sequences, Tables, as_utc, stored, stored_event

G = GrantStatus
LIVE = (G.GRANTING, G.INVITED, G.ACTIVE, G.REVOKING, G.FAILED)
RETRIED = (G.GRANTING, G.INVITED, G.REVOKING, G.FAILED)  # due by next_attempt_at; ACTIVE is due by expires_at
E = TypeVar("E", AccessRequest, Grant)


class IntegrityError(Exception):
    """A foreign key or unique constraint the database would refuse (not one of the once-only keys)."""


class Transaction:
    """What the repositories of one unit of work share: its tables, the sequences, and whether it is spoilt."""

    def __init__(self, tables: Tables, sequences: Sequences) -> None:
        self.tables = tables
        self.sequences = sequences
        self.spoilt = False
        self.dirty = False  # something was written (a read-only transaction's commit cannot fail for lack of room)

    def writing(self) -> Tables:
        self.check()
        self.dirty = True
        return self.tables

    def check(self) -> None:
        if self.spoilt:  # PostgreSQL: "current transaction is aborted, commands ignored until end of block"
            raise RuntimeError("the unit of work is spoilt by a refused insert: leave it and start a new one")

    def refuse(self, error: Exception) -> Exception:
        self.spoilt = True
        return error


def save_versioned(rows: dict[int, E], item: E, what: str) -> E:
    """UPDATE ... WHERE id = :id AND version = :version, as `storage.rows.save_versioned`."""
    if item.id is None:
        raise StaleWrite(f"{what} was never added")
    current = rows.get(item.id)
    if current is None or current.version != item.version:
        raise StaleWrite(f"{what} {item.id} changed since version {item.version} was read")
    saved = stored(dataclasses.replace(item, version=item.version + 1))
    rows[item.id] = saved
    return saved


class MemoryRequests:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    @property
    def _rows(self) -> dict[int, AccessRequest]:
        self._tx.check()
        return self._tx.tables.requests

    def add(self, request: AccessRequest) -> AccessRequest:
        rows = self._tx.writing().requests
        for key in ("submission_key", "pending_key"):
            value = getattr(request, key)
            if value is not None and any(getattr(row, key) == value for row in rows.values()):
                raise self._tx.refuse(Duplicate("another request holds this submission or pending key"))
        added = stored(dataclasses.replace(request, id=self._tx.sequences.next("request"), version=1))
        rows[added.id or 0] = added
        return added

    def get(self, request_id: int) -> AccessRequest | None:
        return self._rows.get(request_id)

    def get_many(self, request_ids: Collection[int]) -> dict[int, AccessRequest]:
        return {i: self._rows[i] for i in sorted(set(request_ids)) if i in self._rows}

    def save(self, request: AccessRequest) -> AccessRequest:
        rows = self._tx.writing().requests
        for key in ("submission_key", "pending_key"):
            value = getattr(request, key)
            if value is not None and any(getattr(row, key) == value and row.id != request.id for row in rows.values()):
                raise self._tx.refuse(IntegrityError(f"another request holds this {key}"))
        return save_versioned(rows, request, "request")

    def for_requester(self, requester_id: str, *, limit: int = 50) -> list[AccessRequest]:
        mine = [r for r in self._rows.values() if r.requester_id == requester_id]
        return sorted(mine, key=lambda r: (r.created_at, r.id or 0), reverse=True)[:limit]

    def pending(self, *, limit: int = 1000) -> list[AccessRequest]:
        waiting = [r for r in self._rows.values() if r.status is RequestStatus.PENDING]
        return sorted(waiting, key=lambda r: (r.created_at, r.id or 0))[:limit]

    def pending_for(self, requester_id: str, *, limit: int = 1000) -> list[AccessRequest]:
        mine = [r for r in self._rows.values() if r.requester_id == requester_id and r.status is RequestStatus.PENDING]
        return sorted(mine, key=lambda r: (r.created_at, r.id or 0))[:limit]

    def hold_requester(self, requester_id: str) -> None:
        """Nothing to hold: the fake store runs one unit of work at a time."""

    def by_submission_key(self, key: str) -> AccessRequest | None:
        return next((r for r in self._rows.values() if r.submission_key == key), None)

    def in_group(self, group_id: str) -> list[AccessRequest]:
        return sorted((r for r in self._rows.values() if r.group_id == group_id), key=lambda r: r.id or 0)


def due_at(grant: Grant) -> datetime | None:
    """When a live grant's next piece of work falls due (`storage.grants.DUE_AT`)."""
    return grant.expires_at if grant.status is G.ACTIVE else grant.next_attempt_at


def _due(grant: Grant, now: datetime) -> bool:
    moment = due_at(grant)
    waiting = grant.status is G.ACTIVE or grant.status in RETRIED
    return waiting and moment is not None and moment <= now and (grant.lease_until is None or grant.lease_until <= now)


class MemoryGrants:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    @property
    def _rows(self) -> dict[int, Grant]:
        self._tx.check()
        return self._tx.tables.grants

    def add(self, grant: Grant) -> Grant:
        rows = self._tx.writing().grants
        if grant.request_id not in self._tx.tables.requests:
            raise self._tx.refuse(IntegrityError(f"no request {grant.request_id} (foreign key)"))
        if any(row.request_id == grant.request_id for row in rows.values()):
            raise self._tx.refuse(IntegrityError(f"request {grant.request_id} has a grant already (unique)"))
        added = stored(dataclasses.replace(grant, id=self._tx.sequences.next("grant"), version=1))
        rows[added.id or 0] = added
        return added

    def get(self, grant_id: int) -> Grant | None:
        return self._rows.get(grant_id)

    def for_request(self, request_id: int) -> Grant | None:
        return next((g for g in self._rows.values() if g.request_id == request_id), None)

    def save_many(self, changes: Sequence[tuple[Grant, Grant | None]]) -> list[Grant]:
        return [self.save(grant, since=stored) for grant, stored in changes]

    def save(self, grant: Grant, *, since: Grant | None = None) -> Grant:
        rows = self._tx.writing().grants
        current = rows.get(grant.id or 0)
        if since is not None and current is not None and current.version == grant.version:
            # Only what differs from `since` is written, over the row as stored, as the SQL UPDATE does.
            changed = {f.name: getattr(grant, f.name) for f in dataclasses.fields(grant)
                       if getattr(grant, f.name) != getattr(since, f.name)}
            saved = save_versioned(rows, dataclasses.replace(current, **changed), "grant")
            return dataclasses.replace(grant, version=saved.version)
        return save_versioned(rows, grant, "grant")

    def live_for(self, *, username: str, resource_id: str) -> list[Grant]:
        found = [g for g in self._rows.values()
                 if g.username == username and g.resource_id == resource_id and g.status in LIVE]
        return sorted(found, key=lambda g: g.id or 0)

    def live_for_each(self, keys: list[tuple[str, str]], *, excluding: Collection[int] = ()) -> list[Grant]:
        wanted, left_out = set(keys), set(excluding)
        return sorted((g for g in self._rows.values() if (g.username, g.resource_id) in wanted and g.status in LIVE
                       and g.id not in left_out), key=lambda g: g.id or 0)

    def live_with_network(self, *, group_id: str, cidr: str) -> list[Grant]:
        found = [g for g in self._rows.values() if g.network_entry == cidr and g.network_added is True
                 and g.status in LIVE and g.resource_id.startswith(f"{group_id}/")]
        return sorted(found, key=lambda g: g.id or 0)

    def for_requester(self, requester_id: str, *, statuses: tuple[GrantStatus, ...]) -> list[Grant]:
        found = [g for g in self._rows.values() if g.requester_id == requester_id and g.status in statuses]
        return sorted(found, key=lambda g: (g.created_at, g.id or 0), reverse=True)

    def live_resources(self) -> list[tuple[str, str, ResourceKind]]:
        return sorted({(g.integration, g.resource_id, g.resource_kind) for g in self._rows.values()
                       if g.status in LIVE})

    def live(self, *, integration: str | None = None, resource: str = "", person: str | None = None,
             offset: int = 0, limit: int = 20) -> tuple[list[Grant], int]:
        found = [g for g in sorted(self._rows.values(), key=lambda g: g.id or 0) if g.status in LIVE
                 and integration in (None, g.integration) and resource.lower() in g.resource_name.lower()
                 and (not person or person in (g.requester_id,) or person.lower() == g.username.lower())]
        return found[max(offset, 0):max(offset, 0) + max(limit, 0)], len(found)

    def _claim(self, *, now: datetime, owner: str, lease_seconds: float, limit: int) -> list[Grant]:
        rows = self._tx.writing().grants
        now = as_utc(now)
        due = sorted((g for g in rows.values() if _due(g, now)), key=lambda g: (due_at(g), g.id or 0))[:limit]
        until = now + timedelta(seconds=lease_seconds)
        claimed = [stored(dataclasses.replace(g, lease_owner=owner, lease_until=until, version=g.version + 1))
                   for g in due]
        for grant in claimed:
            rows[grant.id or 0] = grant
        return claimed

    def claim_due_starting_revocations(self, *, now: datetime, owner: str, lease_seconds: float,
                                       limit: int) -> tuple[list[Grant], frozenset[int]]:
        claimed = self._claim(now=now, owner=owner, lease_seconds=lease_seconds, limit=limit)
        rows = self._tx.writing().grants
        started = frozenset(g.id or 0 for g in claimed
                            if g.status is G.ACTIVE and g.resource_kind is not ResourceKind.CLUSTER)
        moved = [stored(lifecycle.start_revocation(g, as_utc(now))) if g.id in started else g for g in claimed]
        for grant in moved:
            rows[grant.id or 0] = grant
        return moved, started

    def next_due_at(self) -> datetime | None:
        moments = []
        for grant in self._rows.values():
            moment = due_at(grant)
            if moment is None or not (grant.status is G.ACTIVE or grant.status in RETRIED):
                continue
            lease = grant.lease_until
            moments.append(lease if lease is not None and lease > moment else moment)
        return min(moments, default=None)

    def expiring(self, *, before: datetime, limit: int) -> list[Grant]:
        found = [g for g in self._rows.values() if g.status is G.ACTIVE and g.reminder_sent_at is None
                 and g.expires_at is not None and g.expires_at <= before]
        return sorted(found, key=lambda g: (g.expires_at or before, g.id or 0))[:limit]

    def count_by_status(self) -> dict[GrantStatus, int]:
        counts = dict.fromkeys(GrantStatus, 0)
        for grant in self._rows.values():
            counts[grant.status] += 1
        return counts


class MemoryAudit:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def add(self, event: AuditEvent) -> None:
        self._tx.writing().audit.append(stored_event(event, event_id=self._tx.sequences.next("audit")))

    def add_many(self, events: Sequence[AuditEvent]) -> None:
        for event in events:
            self.add(event)

    def query(self, *, since: datetime | None = None, integration: str | None = None,
              limit: int | None = None) -> Iterator[AuditEvent]:
        self._tx.check()
        found = [e for e in self._tx.tables.audit
                 if (since is None or e.at >= since) and (integration is None or e.integration == integration)]
        found.sort(key=lambda e: (e.at, e.id or 0))
        return iter(found if limit is None else found[:limit])


class MemoryLedger:
    """`access.reconcile.GrantLedger`: reads what is committed, as `storage.grant_ledger` does in its own connection."""

    def __init__(self, committed: Callable[[], Tables]) -> None:
        self._committed = committed

    def grants(self, *, integration: str, statuses: tuple[GrantStatus, ...],
               updated_since: datetime | None = None) -> list[Grant]:
        found = [g for g in self._committed().grants.values() if g.integration == integration and g.status in statuses
                 and (updated_since is None or g.updated_at >= updated_since)]
        return sorted(found, key=lambda g: g.id or 0)


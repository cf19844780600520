"""Applying a discovery to the stored inventory in batches: upsert what was found, mark what vanished.

For each table only the natural keys, ids and `present` flags of the integration's rows are loaded whole; the
discovered items are then compared and written `BATCH` at a time (their stored rows read by id, one bulk INSERT
and one bulk UPDATE by primary key for the rows that changed), so a sync of 20,000 projects and 100,000 users
never holds more than a batch of rows and statement parameters beside the inventory itself. Everything happens in
the caller's unit of work: a sync that fails half-way is rolled back whole. Rows are never deleted: a vanished
row gets `present = False` (requests and grants keep pointing at it), and comes back as "added" if it reappears.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any, TypeVar

from sqlalchemy import Connection, Table, bindparam, insert, select, update
from sqlmodel import SQLModel

from access.entities import SyncChanges
from access.model import DiscoveredProject, DiscoveredUser, Inventory
from storage.rows import table_of
from storage.tables import AtlasUserRow, ClusterRow, OrganizationRow, ProjectRow, TeamRow

CHUNK = 1000  # ids per `IN (...)`, well under every driver's parameter limit
BATCH = 5000  # discovered items compared and written at a time

T = TypeVar("T")
Key = tuple[Any, ...]
Item = tuple[Key, dict[str, Any]]  # natural key, column values


@dataclass
class _Outcome:
    added: list[Key] = field(default_factory=list)
    added_labels: list[str] = field(default_factory=list)
    removed: list[Key] = field(default_factory=list)
    removed_labels: list[str] = field(default_factory=list)
    count: int = 0


def apply_inventory(session: Connection, *, integration: str, inventory: Inventory, now: datetime) -> SyncChanges:
    org_id = inventory.organization_id
    orgs = _sync(session, OrganizationRow, integration, ("atlas_id",), "name",
                 [((org_id,), {"atlas_id": org_id, "name": inventory.organization_name})])
    projects = _sync(session, ProjectRow, integration, ("atlas_id",), "name",
                     (_project(p) for p in inventory.projects))
    clusters = _sync(session, ClusterRow, integration, ("project_id", "name"), None,
                     (((p.id, c.name), {"project_id": p.id, "name": c.name, "state": c.state})
                      for p in inventory.projects for c in p.clusters))
    users = _sync(session, AtlasUserRow, integration, ("atlas_id",), "username",
                  (_user(u) for u in inventory.users))
    teams = _sync(session, TeamRow, integration, ("atlas_id",), None,
                  (((t.id,), {"atlas_id": t.id, "organization_id": org_id, "name": t.name,
                              "project_roles": {gid: tuple(sorted(r)) for gid, r in t.project_roles.items()}})
                   for t in inventory.teams))
    for model in (OrganizationRow, ProjectRow):
        table = table_of(model)
        session.execute(update(table).where(table.c.integration == integration, table.c.present.is_(True))
                        .values(last_seen_at=now))
    names = _project_names(session, integration)
    return SyncChanges(
        added_projects=_sorted(projects.added_labels),
        removed_projects=_sorted(projects.removed_labels),
        added_clusters=_sorted(f"{names.get(k[0], k[0])}/{k[1]}" for k in clusters.added),
        removed_clusters=_sorted(f"{names.get(k[0], k[0])}/{k[1]}" for k in clusters.removed),
        added_users=_sorted(users.added_labels),
        removed_users=_sorted(users.removed_labels),
        counts={"organizations": orgs.count, "projects": projects.count, "clusters": clusters.count,
                "users": users.count} | ({"teams": teams.count} if teams.count else {}),
    )


def _project(p: DiscoveredProject) -> Item:
    """The row a discovered project should have, in the shape the column types read back."""
    return (p.id,), {"atlas_id": p.id, "organization_id": p.organization_id, "name": p.name,
                     "tags": {t.key: t.value for t in p.tags}}


def _user(u: DiscoveredUser) -> Item:
    return (u.id,), {"atlas_id": u.id, "username": u.username, "status": u.status,
                     "org_roles": tuple(sorted(u.org_roles)),
                     "project_roles": {gid: tuple(sorted(roles)) for gid, roles in u.project_roles.items()},
                     "team_ids": tuple(sorted(u.team_ids))}


def _sync(session: Connection, model: type[SQLModel], integration: str, key: tuple[str, ...], label: str | None,
          wanted: Iterable[Item]) -> _Outcome:
    table = table_of(model)
    key_columns = [table.c[k] for k in key]
    # key -> (id, present) for every stored row of the integration: small, unlike the rows themselves
    stored = {tuple(row[:-2]): (row[-2], row[-1]) for row in session.execute(
        select(*key_columns, table.c.id, table.c.present).where(table.c.integration == integration))}
    outcome = _Outcome()
    seen: set[Key] = set()
    for batch in _batches(wanted, BATCH):
        batch = [(k, data) for k, data in batch if k not in seen]  # a key listed twice counts once
        seen.update(k for k, _ in batch)
        outcome.count += len(batch)
        _write(session, model, table, integration, label, stored, batch, outcome)
    vanished = [(item_key, ident) for item_key, (ident, present) in stored.items() if present and item_key not in seen]
    outcome.removed = [item_key for item_key, _ in vanished]
    ids = [ident for _, ident in vanished]
    if label is not None:
        outcome.removed_labels = [str(row[0]) for chunk in _batches(ids, CHUNK) for row in session.execute(
            select(table.c[label]).where(table.c.id.in_(chunk)))]
    _mark_vanished(session, table, ids)
    return outcome


def _write(session: Connection, model: type[SQLModel], table: Table, integration: str, label: str | None,
           stored: dict[Key, tuple[int, bool]], batch: list[Item], outcome: _Outcome) -> None:
    known = [stored[k][0] for k, _ in batch if k in stored]
    rows = {row.id: row for chunk in _batches(known, CHUNK)
            for row in session.execute(select(table).where(table.c.id.in_(chunk)))}
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for item_key, data in batch:
        found = stored.get(item_key)
        if found is None:
            inserts.append({**data, "integration": integration, "present": True})
            _added(outcome, item_key, data, label)
            continue
        row = rows[found[0]]
        if not row.present or any(row._mapping[column] != value for column, value in data.items()):
            updates.append({**data, "id": row.id, "present": True})
            if not row.present:
                _added(outcome, item_key, data, label)
    if inserts:
        session.execute(insert(table), inserts)
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for each in updates:
        by_columns.setdefault(tuple(name for name in each if name != "id"), []).append(each)
    for names, rows_of in by_columns.items():  # UPDATE by primary key, one executemany per set of columns
        statement = (update(table).where(table.c.id == bindparam("b_id"))
                     .values({name: bindparam(f"b_{name}") for name in names}))  # fmt: skip
        session.execute(statement, [{"b_id": each["id"], **{f"b_{n}": each[n] for n in names}} for each in rows_of])


def _added(outcome: _Outcome, item_key: Key, data: dict[str, Any], label: str | None) -> None:
    outcome.added.append(item_key)
    if label is not None:
        outcome.added_labels.append(str(data[label]))


def _mark_vanished(session: Connection, table: Table, ids: list[int]) -> None:
    for chunk in _batches(ids, CHUNK):
        session.execute(update(table).where(table.c.id.in_(chunk)).values(present=False))


def _project_names(session: Connection, integration: str) -> dict[str, str]:
    table = table_of(ProjectRow)
    rows = session.execute(select(table.c.atlas_id, table.c.name).where(table.c.integration == integration))
    return {atlas_id: name for atlas_id, name in rows}


def _batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _sorted(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(items))



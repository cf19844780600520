"""Applying a discovery to the stored inventory in bulk: upsert what was found, mark what vanished.

Each table is loaded once for the integration, compared in memory, then written with one bulk INSERT
and one bulk UPDATE by primary key (only the rows that changed), so a sync of thousands of projects and
users costs a handful of statements. Rows are never deleted: a vanished row gets `present = False`
(requests and grants keep pointing at it), and comes back as "added" if it reappears.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert, select, update
from sqlalchemy.orm import Session
from sqlmodel import SQLModel

from access.entities import SyncChanges
from access.model import Inventory
from storage.rows import table_of
from storage.tables import AtlasUserRow, ClusterRow, OrganizationRow, ProjectRow, TeamRow

CHUNK = 1000  # ids per `IN (...)`, well under every driver's parameter limit


@dataclass
class _Outcome:
    added: list[tuple[Any, ...]] = field(default_factory=list)
    removed: list[tuple[Any, ...]] = field(default_factory=list)
    removed_rows: dict[tuple[Any, ...], Any] = field(default_factory=dict)


Wanted = dict[tuple[Any, ...], dict[str, Any]]  # natural key -> column values


def apply_inventory(session: Session, *, integration: str, inventory: Inventory, now: datetime) -> SyncChanges:
    orgs, projects, clusters, users = _wanted(inventory)
    _sync(session, OrganizationRow, integration, ("atlas_id",), orgs)
    project_outcome = _sync(session, ProjectRow, integration, ("atlas_id",), projects)
    cluster_outcome = _sync(session, ClusterRow, integration, ("project_id", "name"), clusters)
    user_outcome = _sync(session, AtlasUserRow, integration, ("atlas_id",), users)
    teams: Wanted = {(t.id,): {"atlas_id": t.id, "organization_id": inventory.organization_id, "name": t.name,
                               "project_roles": {gid: tuple(sorted(r)) for gid, r in t.project_roles.items()}}
                     for t in inventory.teams}
    _sync(session, TeamRow, integration, ("atlas_id",), teams)
    for model in (OrganizationRow, ProjectRow):
        table = table_of(model)
        session.execute(update(table).where(table.c.integration == integration, table.c.present.is_(True))
                        .values(last_seen_at=now))
    names = _project_names(session, integration)
    return SyncChanges(
        added_projects=_sorted(projects[k]["name"] for k in project_outcome.added),
        removed_projects=_sorted(project_outcome.removed_rows[k].name for k in project_outcome.removed),
        added_clusters=_sorted(f"{names.get(k[0], k[0])}/{k[1]}" for k in cluster_outcome.added),
        removed_clusters=_sorted(f"{names.get(k[0], k[0])}/{k[1]}" for k in cluster_outcome.removed),
        added_users=_sorted(users[k]["username"] for k in user_outcome.added),
        removed_users=_sorted(user_outcome.removed_rows[k].username for k in user_outcome.removed),
        counts={"organizations": len(orgs), "projects": len(projects), "clusters": len(clusters),
                "users": len(users)} | ({"teams": len(teams)} if teams else {}),
    )


def _wanted(inventory: Inventory) -> tuple[Wanted, Wanted, Wanted, Wanted]:
    """The rows the discovery says should be present, in the shape the column types read back."""
    org_id = inventory.organization_id
    orgs: Wanted = {(org_id,): {"atlas_id": org_id, "name": inventory.organization_name}}
    projects: Wanted = {
        (p.id,): {"atlas_id": p.id, "organization_id": p.organization_id, "name": p.name,
                  "tags": {t.key: t.value for t in p.tags}}
        for p in inventory.projects
    }
    clusters: Wanted = {
        (p.id, c.name): {"project_id": p.id, "name": c.name, "state": c.state}
        for p in inventory.projects for c in p.clusters
    }
    users: Wanted = {
        (u.id,): {"atlas_id": u.id, "username": u.username, "status": u.status,
                  "org_roles": tuple(sorted(u.org_roles)),
                  "project_roles": {gid: tuple(sorted(roles)) for gid, roles in u.project_roles.items()}}
        for u in inventory.users
    }
    return orgs, projects, clusters, users


def _sync(
    session: Session, model: type[SQLModel], integration: str, key: tuple[str, ...],
    wanted: dict[tuple[Any, ...], dict[str, Any]],
) -> _Outcome:
    table = table_of(model)
    existing = {tuple(row._mapping[k] for k in key): row
                for row in session.execute(select(table).where(table.c.integration == integration))}
    outcome = _Outcome()
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for item_key, data in wanted.items():
        row = existing.get(item_key)
        if row is None:
            inserts.append({**data, "integration": integration, "present": True})
            outcome.added.append(item_key)
        elif not row.present or any(row._mapping[column] != value for column, value in data.items()):
            updates.append({**data, "id": row.id, "present": True})
            if not row.present:
                outcome.added.append(item_key)
    for item_key, row in existing.items():
        if item_key not in wanted and row.present:
            outcome.removed.append(item_key)
            outcome.removed_rows[item_key] = row
    if inserts:
        session.execute(insert(model), inserts)
    if updates:
        session.execute(update(model), updates)  # ORM bulk UPDATE by primary key (executemany)
    _mark_vanished(session, table, [row.id for row in outcome.removed_rows.values()])
    return outcome


def _mark_vanished(session: Session, table: Table, ids: list[int]) -> None:
    for start in range(0, len(ids), CHUNK):
        session.execute(update(table).where(table.c.id.in_(ids[start:start + CHUNK])).values(present=False))


def _project_names(session: Session, integration: str) -> dict[str, str]:
    table = table_of(ProjectRow)
    rows = session.execute(select(table.c.atlas_id, table.c.name).where(table.c.integration == integration))
    return {atlas_id: name for atlas_id, name in rows}


def _sorted(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(items))

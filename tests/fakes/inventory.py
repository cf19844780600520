"""The memory store's inventory: what discovery found, applied and read back as `storage.inventory` does.

Rows are never deleted: a vanished one is marked absent and comes back as "added". Orders and filters are the
SQL ones: organizations, then projects, then clusters (`project/cluster`), each by name then row id; a query
matches names without regard to case; a cluster counts as present only while its project is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from access.database_roles import cluster_atlas_id, split_cluster_id
from access.entities import InventoryResource, InventoryUser, SyncChanges, TeamProject
from access.model import Inventory, ResourceKind
from tests.fakes.requests_grants import Transaction
from tests.fakes.tables import ClusterRow, OrgRow, ProjectRow, TeamRow, UserRow


def counts(tx: Transaction, integration: str) -> dict[str, int]:
    t = tx.tables
    tables: dict[str, Iterable[Any]] = {"organizations": t.orgs.values(), "projects": t.projects.values(),
                                        "clusters": t.clusters.values(), "users": t.users.values()}
    found = {name: sum(1 for row in rows if row.integration == integration and row.present)
             for name, rows in tables.items()}
    teams = sum(1 for row in t.teams.values() if row.integration == integration and row.present)
    return found | ({"teams": teams} if teams else {})


class MemoryInventory:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def apply(self, *, integration: str, inventory: Inventory, now: datetime) -> SyncChanges:
        t, org = self._tx.writing(), inventory.organization_id
        orgs = {(integration, org): {"atlas_id": org, "name": inventory.organization_name}}
        projects = {(integration, p.id): {"atlas_id": p.id, "organization_id": p.organization_id, "name": p.name,
                                          "tags": tuple((tag.key, tag.value) for tag in p.tags)}
                    for p in inventory.projects}
        clusters = {(integration, p.id, c.name): {"project_id": p.id, "name": c.name, "state": c.state}
                    for p in inventory.projects for c in p.clusters}
        users = {(integration, u.id): {
            "atlas_id": u.id, "username": u.username, "status": u.status, "org_roles": tuple(sorted(u.org_roles)),
            "project_roles": tuple((g, tuple(sorted(r))) for g, r in u.project_roles.items()),
            "team_ids": tuple(sorted(u.team_ids))}
            for u in inventory.users}
        self._sync(t.orgs, "org", integration, orgs)
        new_projects, gone_projects = self._sync(t.projects, "project", integration, projects)
        new_clusters, gone_clusters = self._sync(t.clusters, "cluster", integration, clusters)
        new_users, gone_users = self._sync(t.users, "user", integration, users)
        teams = {(integration, team.id): {
            "atlas_id": team.id, "organization_id": org, "name": team.name,
            "project_roles": tuple((g, tuple(sorted(r))) for g, r in team.project_roles.items())}
            for team in inventory.teams}
        self._sync(t.teams, "team", integration, teams)
        names = {row.atlas_id: row.name for row in t.projects.values() if row.integration == integration}
        return SyncChanges(
            added_projects=tuple(sorted(t.projects[k].name for k in new_projects)),
            removed_projects=tuple(sorted(t.projects[k].name for k in gone_projects)),
            added_clusters=tuple(sorted(f"{names.get(k[1], k[1])}/{k[2]}" for k in new_clusters)),
            removed_clusters=tuple(sorted(f"{names.get(k[1], k[1])}/{k[2]}" for k in gone_clusters)),
            added_users=tuple(sorted(t.users[k].username for k in new_users)),
            removed_users=tuple(sorted(t.users[k].username for k in gone_users)),
            counts={"organizations": len(orgs), "projects": len(projects), "clusters": len(clusters),
                    "users": len(users)} | ({"teams": len(teams)} if teams else {}),
        )

    def _sync(self, rows: dict[Any, Any], table: str, integration: str,
              wanted: dict[Any, dict[str, Any]]) -> tuple[list[Any], list[Any]]:
        """Upsert `wanted`, mark the integration's other rows absent; (keys added, keys removed)."""
        added, removed = [], []
        kind = {"org": OrgRow, "project": ProjectRow, "cluster": ClusterRow, "user": UserRow, "team": TeamRow}[table]
        for key, data in wanted.items():
            row = rows.get(key)
            if row is None:
                rows[key] = kind(id=self._tx.sequences.next(table), integration=integration, **data)
                added.append(key)
            else:
                if not row.present:
                    added.append(key)
                rows[key] = dataclasses.replace(row, present=True, **data)
        for key, row in list(rows.items()):
            if row.integration == integration and key not in wanted and row.present:
                rows[key] = dataclasses.replace(row, present=False)
                removed.append(key)
        return added, removed

    def resources(self, *, integration: str | None = None, kind: ResourceKind | None = None, query: str = "",
                  limit: int = 100) -> list[InventoryResource]:
        self._tx.check()
        found: list[InventoryResource] = []
        if kind in (None, ResourceKind.ORGANIZATION):
            orgs = [r for r in self._tx.tables.orgs.values() if _wanted(r, integration, query, r.name)]
            found += [_org(r) for r in sorted(orgs, key=lambda r: (r.name, r.id))][:limit]
        if kind in (None, ResourceKind.PROJECT) and len(found) < limit:
            projects = [r for r in self._tx.tables.projects.values() if _wanted(r, integration, query, r.name)]
            found += [self._project(r) for r in sorted(projects, key=lambda r: (r.name, r.id))][:limit - len(found)]
        if kind in (None, ResourceKind.CLUSTER) and len(found) < limit:
            clusters = [(p, c) for c in self._tx.tables.clusters.values()
                        if (p := self._tx.tables.projects.get((c.integration, c.project_id))) is not None
                        and p.present and _wanted(c, integration, query, f"{p.name}/{c.name}")]
            clusters.sort(key=lambda pc: (pc[0].name, pc[1].name, pc[1].id))
            found += [self._cluster(p, c) for p, c in clusters][:limit - len(found)]
        if kind in (None, ResourceKind.TEAM) and len(found) < limit:
            teams = [r for r in self._tx.tables.teams.values() if _wanted(r, integration, query, r.name)]
            found += [self._team(r) for r in sorted(teams, key=lambda r: (r.name, r.id))][:limit - len(found)]
        return found

    def resource(self, *, integration: str, atlas_id: str,
                 kind: ResourceKind | None = None) -> InventoryResource | None:
        found = self._resource(integration=integration, atlas_id=atlas_id)
        return found if found is None or kind is None or found.kind is kind else None

    def _resource(self, *, integration: str, atlas_id: str) -> InventoryResource | None:
        self._tx.check()
        t = self._tx.tables
        if "/" in atlas_id:
            try:
                group_id, name = split_cluster_id(atlas_id)
            except ValueError:
                return None
            cluster = t.clusters.get((integration, group_id, name))
            project = t.projects.get((integration, group_id))
            return None if cluster is None or project is None else self._cluster(project, cluster)
        if (org := t.orgs.get((integration, atlas_id))) is not None:
            return _org(org)
        if (team := t.teams.get((integration, atlas_id))) is not None:
            return self._team(team)
        project = t.projects.get((integration, atlas_id))
        return None if project is None else self._project(project)

    def clusters(self, *, integration: str, project_id: str) -> list[tuple[str, str]]:
        self._tx.check()
        return sorted((c.name, c.state) for c in self._tx.tables.clusters.values()
                      if c.integration == integration and c.project_id == project_id and c.present)

    def users(self, *, integration: str) -> list[InventoryUser]:
        self._tx.check()
        rows = sorted((u for u in self._tx.tables.users.values() if u.integration == integration and u.present),
                      key=lambda u: (u.username, u.id))
        return [InventoryUser(integration=u.integration, atlas_id=u.atlas_id, username=u.username, status=u.status,
                              org_roles=u.org_roles, project_roles=dict(u.project_roles), present=u.present,
                              team_ids=u.team_ids or ())
                for u in rows]

    def counts(self, *, integration: str) -> dict[str, int]:
        self._tx.check()
        return counts(self._tx, integration)

    def _org_name(self, project: ProjectRow) -> str:
        org = self._tx.tables.orgs.get((project.integration, project.organization_id))
        return org.name if org is not None else ""

    def _project(self, row: ProjectRow) -> InventoryResource:
        return InventoryResource(integration=row.integration, kind=ResourceKind.PROJECT, atlas_id=row.atlas_id,
                                 organization_id=row.organization_id, organization_name=self._org_name(row),
                                 name=row.name, tags=dict(row.tags), present=row.present)

    def _team(self, row: TeamRow) -> InventoryResource:
        org = self._tx.tables.orgs.get((row.integration, row.organization_id))
        held = []
        for group_id, roles in row.project_roles:
            project = self._tx.tables.projects.get((row.integration, group_id))
            if project is not None:
                held.append(TeamProject(name=project.name, roles=roles, tags=dict(project.tags)))
        return InventoryResource(integration=row.integration, kind=ResourceKind.TEAM, atlas_id=row.atlas_id,
                                 organization_id=row.organization_id, organization_name=org.name if org else "",
                                 name=row.name, present=row.present,
                                 team_projects=tuple(sorted(held, key=lambda p: (p.name, p.roles))))

    def _cluster(self, project: ProjectRow, row: ClusterRow) -> InventoryResource:
        return InventoryResource(
            integration=row.integration, kind=ResourceKind.CLUSTER,
            atlas_id=cluster_atlas_id(group_id=row.project_id, cluster=row.name),
            organization_id=project.organization_id, organization_name=self._org_name(project),
            name=f"{project.name}/{row.name}", tags=dict(project.tags), present=row.present and project.present)


def _wanted(row: Any, integration: str | None, query: str, name: str) -> bool:
    return bool(row.present and (integration is None or row.integration == integration)
                and query.strip().lower() in name.lower())


def _org(row: OrgRow) -> InventoryResource:
    return InventoryResource(integration=row.integration, kind=ResourceKind.ORGANIZATION, atlas_id=row.atlas_id,
                             organization_id=row.atlas_id, organization_name=row.name, name=row.name,
                             present=row.present)

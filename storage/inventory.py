"""The inventory repository: what discovery found (organizations, projects, clusters, users), for forms and flows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, and_, bindparam, func, literal, select

from access.database_roles import cluster_atlas_id, split_cluster_id
from access.entities import InventoryResource, InventoryUser, SyncChanges, TeamProject
from access.model import Inventory, ResourceKind
from storage.inventory_sync import apply_inventory
from storage.rows import table_of
from storage.tables import AtlasUserRow, ClusterRow, OrganizationRow, ProjectRow, TeamRow

ORG = table_of(OrganizationRow)
PROJECT = table_of(ProjectRow)
CLUSTER = table_of(ClusterRow)
USER = table_of(AtlasUserRow)
TEAM = table_of(TeamRow)
COUNTED = {"organizations": ORG, "projects": PROJECT, "clusters": CLUSTER, "users": USER}

_PROJECTS = select(PROJECT, ORG.c.name.label("organization_name")).select_from(
    PROJECT.outerjoin(ORG, and_(ORG.c.integration == PROJECT.c.integration,
                                ORG.c.atlas_id == PROJECT.c.organization_id))
)
_BY_ID = {"integration": bindparam("integration", type_=ORG.c.integration.type),
          "atlas_id": bindparam("atlas_id", type_=ORG.c.atlas_id.type)}
_ORG_BY_ID = select(ORG).where(ORG.c.integration == _BY_ID["integration"], ORG.c.atlas_id == _BY_ID["atlas_id"])
_TEAM_BY_ID = select(TEAM).where(TEAM.c.integration == _BY_ID["integration"], TEAM.c.atlas_id == _BY_ID["atlas_id"])
_PROJECT_BY_ID = _PROJECTS.where(PROJECT.c.integration == _BY_ID["integration"],
                                 PROJECT.c.atlas_id == _BY_ID["atlas_id"])
# A cluster is requestable as `project/cluster`, with its project's organization and tags.
CLUSTER_PATH = PROJECT.c.name + literal("/") + CLUSTER.c.name
_CLUSTERS = select(
    CLUSTER, PROJECT.c.organization_id, PROJECT.c.tags, PROJECT.c.present.label("project_present"),
    CLUSTER_PATH.label("path"), ORG.c.name.label("organization_name"),
).select_from(
    CLUSTER.join(PROJECT, and_(PROJECT.c.integration == CLUSTER.c.integration,
                               PROJECT.c.atlas_id == CLUSTER.c.project_id))
    .outerjoin(ORG, and_(ORG.c.integration == PROJECT.c.integration, ORG.c.atlas_id == PROJECT.c.organization_id))
)


def inventory_counts(session: Connection, *, integration: str) -> dict[str, int]:
    """Present rows per kind: organizations, projects, clusters, users; and teams, when there are any."""
    counts = {name: _present(session, table, integration) for name, table in COUNTED.items()}
    teams = _present(session, TEAM, integration)
    return counts | ({"teams": teams} if teams else {})


def _present(session: Connection, table: Table, integration: str) -> int:
    return int(session.execute(select(func.count()).select_from(table)
                               .where(table.c.integration == integration, table.c.present.is_(True))).scalar_one())


class SqlInventoryRepository:
    def __init__(self, session: Connection) -> None:
        self._session = session

    def apply(self, *, integration: str, inventory: Inventory, now: datetime) -> SyncChanges:
        return apply_inventory(self._session, integration=integration, inventory=inventory, now=now)

    def resources(
        self, *, integration: str | None = None, kind: ResourceKind | None = None, query: str = "", limit: int = 100
    ) -> list[InventoryResource]:
        """Present organizations, then projects, then clusters (`project/cluster`), by name.

        `query` matches names case-insensitively (a cluster's `project/cluster` path).
        """
        found: list[InventoryResource] = []
        if kind in (None, ResourceKind.ORGANIZATION):
            statement = select(ORG).where(*_filters(ORG, integration, query)).order_by(ORG.c.name, ORG.c.id)
            found += [_org(row._mapping) for row in self._session.execute(statement.limit(limit))]
        if kind in (None, ResourceKind.PROJECT) and len(found) < limit:
            statement = _PROJECTS.where(*_filters(PROJECT, integration, query)).order_by(PROJECT.c.name, PROJECT.c.id)
            found += [_project(row._mapping) for row in self._session.execute(statement.limit(limit - len(found)))]
        if kind in (None, ResourceKind.CLUSTER) and len(found) < limit:
            statement = _CLUSTERS.where(PROJECT.c.present.is_(True), *_filters(CLUSTER, integration, query,
                                                                              name=CLUSTER_PATH))
            statement = statement.order_by(PROJECT.c.name, CLUSTER.c.name, CLUSTER.c.id).limit(limit - len(found))
            found += [_cluster(row._mapping) for row in self._session.execute(statement)]
        if kind in (None, ResourceKind.TEAM) and len(found) < limit:
            statement = select(TEAM).where(*_filters(TEAM, integration, query)).order_by(TEAM.c.name, TEAM.c.id)
            found += [self._team(row._mapping) for row in self._session.execute(statement.limit(limit - len(found)))]
        return found

    def _team(self, row: Any) -> InventoryResource:
        """A team, with the projects it holds roles on (their names and tags: owner tags name its owners)."""
        held: dict[str, tuple[str, ...]] = dict(row["project_roles"])
        projects = self._session.execute(
            _PROJECTS.where(PROJECT.c.integration == row["integration"], PROJECT.c.atlas_id.in_(list(held)))
        ).all() if held else []
        org = self._session.execute(select(ORG.c.name).where(
            ORG.c.integration == row["integration"], ORG.c.atlas_id == row["organization_id"])).scalar()
        return team_resource(row, str(org or ""), [(p._mapping["name"], held[p._mapping["atlas_id"]],
                                                    dict(p._mapping["tags"])) for p in projects])

    def resource(self, *, integration: str, atlas_id: str,
                 kind: ResourceKind | None = None) -> InventoryResource | None:
        """The organization, team, project or cluster (`<group id>/<cluster name>`) with that id, present or not;
        with `kind`, only one of that kind. The statements are built once: an App Home reads a resource at each
        render, and building and keying a statement per read cost more than the read."""
        if "/" in atlas_id or kind is ResourceKind.CLUSTER:
            return self._cluster(integration, atlas_id) if kind in (None, ResourceKind.CLUSTER) else None
        where = {"integration": integration, "atlas_id": atlas_id}
        if kind in (None, ResourceKind.ORGANIZATION):
            org = self._session.execute(_ORG_BY_ID, where).first()
            if org is not None or kind is not None:
                return None if org is None else _org(org._mapping)
        if kind in (None, ResourceKind.TEAM):
            team = self._session.execute(_TEAM_BY_ID, where).first()
            if team is not None or kind is not None:
                return None if team is None else self._team(team._mapping)
        project = self._session.execute(_PROJECT_BY_ID, where).first()
        return None if project is None else _project(project._mapping)

    def _cluster(self, integration: str, atlas_id: str) -> InventoryResource | None:
        try:
            group_id, name = split_cluster_id(atlas_id)
        except ValueError:
            return None
        row = self._session.execute(_CLUSTERS.where(
            CLUSTER.c.integration == integration, CLUSTER.c.project_id == group_id, CLUSTER.c.name == name)).first()
        return None if row is None else _cluster(row._mapping)

    def clusters(self, *, integration: str, project_id: str) -> list[tuple[str, str]]:
        """(name, state) of the present clusters of a project, by name."""
        statement = (
            select(CLUSTER.c.name, CLUSTER.c.state)
            .where(CLUSTER.c.integration == integration, CLUSTER.c.project_id == project_id,
                   CLUSTER.c.present.is_(True))
            .order_by(CLUSTER.c.name)
        )
        return [(name, state) for name, state in self._session.execute(statement)]

    def users(self, *, integration: str) -> list[InventoryUser]:
        """Present users, by username."""
        statement = (
            select(USER).where(USER.c.integration == integration, USER.c.present.is_(True))
            .order_by(USER.c.username, USER.c.id)
        )
        return [
            InventoryUser(**{k: v for k, v in row._mapping.items() if k not in ("id", "team_ids")},
                          team_ids=tuple(row._mapping["team_ids"] or ()))
            for row in self._session.execute(statement)
        ]

    def counts(self, *, integration: str) -> dict[str, int]:
        return inventory_counts(self._session, integration=integration)


def _filters(table: Table, integration: str | None, query: str,
             name: ColumnElement[str] | None = None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [table.c.present.is_(True)]
    if integration is not None:
        conditions.append(table.c.integration == integration)
    if query.strip():
        searched = table.c.name if name is None else name
        conditions.append(func.lower(searched).contains(query.strip().lower(), autoescape=True))
    return conditions


def _org(row: Any) -> InventoryResource:
    return InventoryResource(
        integration=row["integration"], kind=ResourceKind.ORGANIZATION, atlas_id=row["atlas_id"],
        organization_id=row["atlas_id"], organization_name=row["name"], name=row["name"], present=row["present"],
    )


def _project(row: Any) -> InventoryResource:
    return InventoryResource(
        integration=row["integration"], kind=ResourceKind.PROJECT, atlas_id=row["atlas_id"],
        organization_id=row["organization_id"], organization_name=row["organization_name"] or "",
        name=row["name"], tags=dict(row["tags"]), present=row["present"],
    )


def team_resource(row: Any, organization_name: str,
                  projects: list[tuple[str, tuple[str, ...], dict[str, str]]]) -> InventoryResource:
    return InventoryResource(
        integration=row["integration"], kind=ResourceKind.TEAM, atlas_id=row["atlas_id"],
        organization_id=row["organization_id"], organization_name=organization_name, name=row["name"],
        present=row["present"], team_projects=tuple(
            TeamProject(name=name, roles=tuple(roles), tags=tags)
            for name, roles, tags in sorted(projects, key=lambda p: (p[0], tuple(p[1])))),
    )


def _cluster(row: Any) -> InventoryResource:
    return InventoryResource(
        integration=row["integration"], kind=ResourceKind.CLUSTER,
        atlas_id=cluster_atlas_id(group_id=row["project_id"], cluster=row["name"]),
        organization_id=row["organization_id"], organization_name=row["organization_name"] or "",
        name=row["path"], tags=dict(row["tags"]), present=bool(row["present"] and row["project_present"]),
    )

"""The AtlasGateway contract's two worlds: the FakeGateway over a FakeAtlas, and the real `atlas.gateway.AtlasGateway`
over the Atlas sandbox (in-process transport, a clock we move, sleeps recorded instead of slept).

Both answer the same questions about Atlas as it is (roles, status, database users) and can be given the same
trouble: `fail(kind)` makes the next calls fail the way Atlas or the network does."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from access.database_roles import COLLECTION_ACTIONS
from access.model import AccessListEntry, ResourceKind, ResourceRef
from access.ports import AtlasGateway
from atlas.gateway import AtlasGateway as RealGateway
from tests.atlas.helpers import World, new_world
from tests.fakes import FakeAtlas, FakeGateway, ManualClock

BOT = "atlas-bot@example.com"  # the identity the gateway refuses to touch


@dataclass(frozen=True, kw_only=True)
class DbUser:
    cluster: str
    roles: frozenset[str]  # "role@database"
    delete_after: datetime
    x509: bool = False  # an Atlas-managed X.509 user on $external


class AtlasWorld(Protocol):
    real: bool
    gateway: AtlasGateway
    org_id: str

    def add_project(self, name: str, *, tags: Mapping[str, str] | None = None, clusters: Iterable[str] = ()
                    ) -> str: ...
    def add_user(self, username: str, *, org_roles: Iterable[str] = ("ORG_MEMBER",),
                 project_roles: Mapping[str, Iterable[str]] | None = None, status: str = "ACTIVE") -> str: ...
    def accept_invitation(self, username: str) -> None: ...
    def add_team(self, name: str, *, projects: Mapping[str, Iterable[str]], members: Iterable[str] = ()) -> str: ...
    def delete_team(self, team_id: str) -> None: ...  # by hand in Atlas
    def add_access_entry(self, group_id: str, cidr: str) -> None: ...  # a permanent entry, by hand
    def access_list(self, group_id: str) -> dict[str, datetime | None]: ...  # cidr -> deleteAfterDate
    def custom_roles(self, group_id: str) -> dict[str, set[str]]: ...  # name -> {"FIND@db.coll", ...}
    def in_team(self, team_id: str, username: str) -> bool: ...
    def remove_from_org(self, username: str) -> None: ...
    def set_project_roles(self, group_id: str, username: str, roles: Iterable[str]) -> None: ...
    def org_roles(self, username: str) -> set[str]: ...
    def project_roles(self, group_id: str, username: str) -> set[str]: ...
    def status(self, username: str) -> str | None: ...
    def user_id(self, username: str) -> str | None: ...
    def database_user(self, group_id: str, username: str) -> DbUser | None: ...
    def now(self) -> datetime: ...
    def advance(self, delta: timedelta) -> None: ...
    def fail(self, kind: str, *, count: int = 20) -> None: ...
    def recover(self) -> None: ...
    def close(self) -> None: ...


def ref(world: AtlasWorld, kind: ResourceKind, atlas_id: str | None = None, name: str = "x") -> ResourceRef:
    return ResourceRef(kind=kind, organization_id=world.org_id, atlas_id=atlas_id or world.org_id, name=name)


class FakeAtlasWorld:
    real = False

    def __init__(self) -> None:
        self.clock = ManualClock()
        self.atlas = FakeAtlas(clock=self.clock)
        self.org_id = self.atlas.add_org("Acme")
        self.fake = FakeGateway(self.atlas, own_identity=BOT)
        self.gateway: AtlasGateway = self.fake

    def add_project(self, name: str, *, tags: Mapping[str, str] | None = None, clusters: Iterable[str] = ()) -> str:
        return self.atlas.add_project(self.org_id, name, tags=tags, clusters=tuple(clusters))

    def add_user(self, username: str, *, org_roles: Iterable[str] = ("ORG_MEMBER",),
                 project_roles: Mapping[str, Iterable[str]] | None = None, status: str = "ACTIVE") -> str:
        return self.atlas.add_user(self.org_id, username, org_roles=org_roles, project_roles=project_roles,
                                   status=status)

    def accept_invitation(self, username: str) -> None:
        self.atlas.accept_invitation(self.org_id, username)

    def add_team(self, name: str, *, projects: Mapping[str, Iterable[str]], members: Iterable[str] = ()) -> str:
        return self.atlas.add_team(self.org_id, name, projects=projects, members=members)

    def delete_team(self, team_id: str) -> None:
        self.atlas.delete_team(team_id)

    def add_access_entry(self, group_id: str, cidr: str) -> None:
        self.atlas.access_lists.setdefault(group_id, {})[cidr] = AccessListEntry(cidr=cidr, comment="office")

    def custom_roles(self, group_id: str) -> dict[str, set[str]]:
        return {name: {f"{a}@{r.database_name}.{r.collection}" for a in COLLECTION_ACTIONS[r.role_name]}
                for name, r in self.atlas.custom_roles.get(group_id, {}).items()}

    def access_list(self, group_id: str) -> dict[str, datetime | None]:
        self.atlas.refresh()
        return {c: e.delete_after for c, e in self.atlas.access_lists.get(group_id, {}).items()}

    def in_team(self, team_id: str, username: str) -> bool:
        return self.atlas.in_team(team_id, username)

    def remove_from_org(self, username: str) -> None:
        self.atlas.remove_user(self.org_id, username)

    def set_project_roles(self, group_id: str, username: str, roles: Iterable[str]) -> None:
        self.atlas.set_project_roles(group_id, username, roles)

    def org_roles(self, username: str) -> set[str]:
        return self.atlas.org_roles(self.org_id, username)

    def project_roles(self, group_id: str, username: str) -> set[str]:
        return self.atlas.project_roles(group_id, username)

    def status(self, username: str) -> str | None:
        status = self.atlas.status(self.org_id, username)
        return None if status is None else status.value

    def user_id(self, username: str) -> str | None:
        member = self.atlas.member(self.org_id, username)
        return None if member is None else member.user_id

    def database_user(self, group_id: str, username: str) -> DbUser | None:
        user = self.atlas.database_user(group_id, username)
        if user is None:
            return None
        return DbUser(cluster=user.cluster, roles=frozenset(f"{r.role_name}@{r.database_name}" for r in user.roles),
                      delete_after=user.delete_after, x509=user.x509)

    def now(self) -> datetime:
        return self.clock.now()

    def advance(self, delta: timedelta) -> None:
        self.clock.advance(delta)

    def fail(self, kind: str, *, count: int = 20) -> None:
        self.fake.faults.fail_next(kind, count=count)

    def recover(self) -> None:
        self.fake.faults.clear()

    def close(self) -> None:
        return None


_STATUS_OF_KIND = {"unauthorized": 401, "rate_limited": 429, "unreachable": 503}


class SandboxAtlasWorld:
    real = True

    def __init__(self) -> None:
        self.world: World = new_world()
        self.sandbox: Any = self.world.sandbox
        self.org_id = self.world.org_id
        self.real_gateway = RealGateway(self.world.client(), own_identity=BOT)
        self.gateway: AtlasGateway = self.real_gateway
        self._admin = self.world.client()  # someone changing things in Atlas by hand, outside the bot

    def add_project(self, name: str, *, tags: Mapping[str, str] | None = None, clusters: Iterable[str] = ()) -> str:
        group_id: str = self.sandbox.add_project(org_id=self.org_id, name=name, tags=dict(tags or {}))
        for cluster in clusters:
            self.sandbox.add_cluster(group_id=group_id, name=cluster, state="IDLE")
        return group_id

    def add_user(self, username: str, *, org_roles: Iterable[str] = ("ORG_MEMBER",),
                 project_roles: Mapping[str, Iterable[str]] | None = None, status: str = "ACTIVE") -> str:
        return str(self.sandbox.add_user(org_id=self.org_id, username=username, org_roles=list(org_roles),
                                         project_roles={g: list(r) for g, r in (project_roles or {}).items()},
                                         status=status))

    def accept_invitation(self, username: str) -> None:
        self.sandbox.accept_invitation(org_id=self.org_id, username=username)

    def add_team(self, name: str, *, projects: Mapping[str, Iterable[str]], members: Iterable[str] = ()) -> str:
        team_id = str(self.sandbox.add_team(org_id=self.org_id, name=name, usernames=list(members)))
        for group_id, roles in projects.items():
            self.sandbox.assign_team(group_id=group_id, team_id=team_id, roles=list(roles))
        return team_id

    def delete_team(self, team_id: str) -> None:
        self._admin.call("deleteOrgTeam", path_params={"orgId": self.org_id, "teamId": team_id})

    def add_access_entry(self, group_id: str, cidr: str) -> None:
        self.sandbox.add_access_entry(group_id=group_id, cidr=cidr, comment="office")

    def custom_roles(self, group_id: str) -> dict[str, set[str]]:
        roles = self._admin.call("listGroupCustomDbRoleRoles", path_params={"groupId": group_id}) or []
        return {r["roleName"]: {f"{a['action']}@{x['db']}.{x['collection']}" for a in r["actions"]
                                for x in a["resources"]} for r in roles}

    def access_list(self, group_id: str) -> dict[str, datetime | None]:
        return {e["cidrBlock"]: datetime.fromisoformat(e["deleteAfterDate"].replace("Z", "+00:00"))
                if e.get("deleteAfterDate") else None for e in self.sandbox.access_list(group_id)}

    def in_team(self, team_id: str, username: str) -> bool:
        user = self.sandbox.org_user(self.org_id, username)
        return user is not None and user["orgMembershipStatus"] in ("ACTIVE", "PENDING") \
            and team_id in user.get("teamIds", [])

    def remove_from_org(self, username: str) -> None:
        user_id = self.user_id(username)
        self._admin.call("removeOrgUser", path_params={"orgId": self.org_id, "userId": str(user_id)})

    def set_project_roles(self, group_id: str, username: str, roles: Iterable[str]) -> None:
        path = {"groupId": group_id, "userId": str(self.user_id(username))}
        wanted, held = set(roles), self.project_roles(group_id, username)
        for role in sorted(wanted - held):
            self._admin.call("addGroupUserRole", path_params=path, json={"groupRole": role})
        for role in sorted(held - wanted):
            self._admin.call("removeGroupUserRole", path_params=path, json={"groupRole": role})

    def org_roles(self, username: str) -> set[str]:
        return set(self.sandbox.org_roles(self.org_id, username))

    def project_roles(self, group_id: str, username: str) -> set[str]:
        return set(self.sandbox.project_roles(group_id, username))

    def status(self, username: str) -> str | None:
        user = self.sandbox.org_user(self.org_id, username)
        return None if user is None else str(user["orgMembershipStatus"])

    def user_id(self, username: str) -> str | None:
        user = self.sandbox.org_user(self.org_id, username)
        return None if user is None else str(user["id"])

    def database_user(self, group_id: str, username: str) -> DbUser | None:
        for user in self.sandbox.database_users(group_id):
            if user["username"] == username:
                return DbUser(cluster=user["scopes"][0]["name"],
                              roles=frozenset(f"{r['roleName']}@{r['databaseName']}" for r in user["roles"]),
                              delete_after=datetime.fromisoformat(user["deleteAfterDate"].replace("Z", "+00:00")),
                              x509=user.get("x509Type") == "MANAGED" and user["databaseName"] == "$external")
        return None

    def now(self) -> datetime:
        return self.world.clock.now()

    def advance(self, delta: timedelta) -> None:
        self.world.clock.advance(seconds=delta.total_seconds())

    def fail(self, kind: str, *, count: int = 20) -> None:
        self.sandbox.faults.fail_next(status=_STATUS_OF_KIND[kind], count=count)

    def recover(self) -> None:
        self.sandbox.faults.clear()

    def close(self) -> None:
        for client in self.world.clients:
            client.close()

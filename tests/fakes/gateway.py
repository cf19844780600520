"""FakeGateway: the `AtlasGateway` port over a FakeAtlas, answering as `atlas.gateway.AtlasGateway` does over Atlas
(checked against it over the sandbox by tests/contracts/test_gateway_contract.py).

Grants add only the missing roles and invite non-members; revocations take away only the roles named, remove the
user when asked to or when that would leave no role, withdraw a pending project-only invitation from the whole
organization, treat a user already gone as done, and try a plain role removal by the recorded user id first.
Temporary database users are created (or, when the name is taken, updated), extended and deleted. `faults`
makes any call raise one of the GatewayError family, before acting or after (`landed=True`: its answer lost); a
grant's fault happens at its look-up, before `before_change`, unless it is named "grant_change" (after it).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypeVar

from access.database_roles import DatabaseRole, split_cluster_id
from access.model import (
    TEAM_MEMBER,
    AccessListEntry,
    DiscoveredCluster,
    DiscoveredProject,
    DiscoveredTeam,
    DiscoveredUser,
    DiscoveryType,
    GrantResult,
    Inventory,
    MembershipStatus,
    ResourceKind,
    ResourceRef,
    RevokeResult,
    Tag,
    UserAccess,
)
from access.ports import AtlasGateway, BeforeChange, Progress
from tests.fakes.atlas_state import (
    ACTIVE,
    DATABASE_USER_LIFETIME,
    DATABASE_USERS_PER_PROJECT,
    MEMBER,
    DatabaseUser,
    FakeAtlas,
    Member,
    bad_request,
    not_found,
)
from tests.fakes.faults import Faults, refused

T = TypeVar("T")
INVITED_ORG_ROLES = frozenset({"ORG_MEMBER"})
CUSTOM_ROLES_PER_PROJECT = 100
BUILT_IN_ROLES = frozenset({"read", "readWrite", "dbAdmin", "dbOwner", "readAnyDatabase", "readWriteAnyDatabase",
                            "dbAdminAnyDatabase", "atlasAdmin", "backup", "clusterMonitor", "enableSharding"})
NOBODY = UserAccess(user_id=None, status=None, roles=frozenset())


@dataclass(frozen=True, kw_only=True)
class Call:
    method: str
    username: str | None = None
    resource: str | None = None


class FakeGateway:
    def __init__(self, atlas: FakeAtlas, *, own_identity: str | None = None) -> None:
        self.atlas = atlas
        self.faults = Faults()
        self.calls: list[Call] = []
        # Called with the method's name after a call took effect in Atlas, before its answer is back: someone
        # changing things meanwhile (an admin in Atlas, another replica), for race tests.
        self.meanwhile: Callable[[str], None] | None = None
        self._own = own_identity.casefold() if own_identity else None

    def __repr__(self) -> str:
        return "FakeGateway()"

    # --- the port ------------------------------------------------------------------------------------------

    def discover(self, *, organization_id: str, types: Sequence[DiscoveryType],
                 progress: Progress | None = None) -> Inventory:
        return self._run("discover", None, None, lambda: self._discover(organization_id, types, progress))

    def user_access(self, *, resource: ResourceRef, username: str) -> UserAccess:
        return self._run("user_access", username, resource.atlas_id, lambda: self._user_access(resource, username))

    def grant(self, *, resource: ResourceRef, username: str, roles: Sequence[str],
              before_change: BeforeChange | None = None) -> GrantResult:
        self._refuse_own(username, "grant")
        wanted = frozenset(roles)
        grants: dict[ResourceKind, Callable[[ResourceRef, str, frozenset[str]], GrantResult]] = {
            ResourceKind.ORGANIZATION: self._grant_org, ResourceKind.PROJECT: self._grant_project,
            ResourceKind.TEAM: lambda r, u, _: self._grant_team(r, u)}
        grant = grants[resource.kind]

        def look_then_grant() -> GrantResult:
            if before_change is not None:  # the look-up a grant makes, handed on before anything changes
                before_change(self._user_access(resource, username))
            change_fault = self.faults.take("grant_change", named_only=True)
            if change_fault is not None:  # the look-up went through, the change failed (`landed`: its answer lost)
                if change_fault.landed:
                    grant(resource, username, wanted)
                raise change_fault.make("grant")
            return grant(resource, username, wanted)

        return self._run("grant", username, resource.atlas_id, look_then_grant)

    def revoke(self, *, resource: ResourceRef, username: str, roles: Sequence[str], remove_user: bool,
               user_id: str | None = None) -> RevokeResult:
        self._refuse_own(username, "revoke")
        return self._run("revoke", username, resource.atlas_id,
                         lambda: self._revoke(resource, username, frozenset(roles), remove_user, user_id))

    def create_database_user(self, *, cluster: ResourceRef, username: str, password: str | None,
                             roles: Sequence[DatabaseRole], delete_after: datetime, description: str) -> None:
        self._run("create_database_user", username, cluster.atlas_id, lambda: self._create_database_user(
            cluster, username, password, tuple(roles), delete_after, description))

    def create_user_certificate(self, *, cluster: ResourceRef, username: str, months: int) -> str:
        return self._run("create_user_certificate", username, cluster.atlas_id,
                         lambda: self._create_user_certificate(cluster, username, months))

    def extend_database_user(self, *, cluster: ResourceRef, username: str, roles: Sequence[DatabaseRole],
                             delete_after: datetime, x509: bool = False) -> None:
        self._run("extend_database_user", username, cluster.atlas_id,
                  lambda: self._extend_database_user(cluster, username, tuple(roles), delete_after, x509))

    def delete_database_user(self, *, cluster: ResourceRef, username: str, x509: bool = False) -> bool:
        return self._run("delete_database_user", username, cluster.atlas_id,
                         lambda: self._delete_database_user(cluster, username, x509))

    # --- plumbing ------------------------------------------------------------------------------------------

    def create_custom_role(self, *, cluster: ResourceRef, name: str, role: DatabaseRole) -> None:
        def create() -> None:
            group_id, _ = split_cluster_id(cluster.atlas_id)
            self.atlas.project(group_id, "createGroupCustomDbRoleRole")
            roles = self.atlas.custom_roles.setdefault(group_id, {})
            if name not in roles and len(roles) >= CUSTOM_ROLES_PER_PROJECT:
                raise bad_request("createGroupCustomDbRoleRole", f"Group {group_id} already has "
                                  f"{CUSTOM_ROLES_PER_PROJECT} custom roles.", "MAX_CUSTOM_ROLES_EXCEEDED")
            roles.setdefault(name, role)
        self._run("create_custom_role", None, cluster.atlas_id, create)

    def custom_role_names(self, *, cluster: ResourceRef) -> frozenset[str]:
        group_id, _ = split_cluster_id(cluster.atlas_id)
        return self._run("custom_role_names", None, cluster.atlas_id,
                         lambda: frozenset(self.atlas.custom_roles.get(group_id, {})))

    def delete_custom_role(self, *, cluster: ResourceRef, name: str) -> bool:
        group_id, _ = split_cluster_id(cluster.atlas_id)
        return self._run("delete_custom_role", None, cluster.atlas_id,
                         lambda: self.atlas.custom_roles.setdefault(group_id, {}).pop(name, None) is None)

    def access_list_entry(self, *, cluster: ResourceRef, cidr: str) -> AccessListEntry | None:
        return self._run("access_list_entry", None, cluster.atlas_id, lambda: self._entries(cluster).get(cidr))

    def put_access_list_entry(self, *, cluster: ResourceRef, cidr: str, delete_after: datetime, comment: str) -> None:
        def put() -> None:
            when = self._delete_after(delete_after, "createGroupAccessListEntry")
            if len(comment) > 80:
                raise bad_request("createGroupAccessListEntry", "The comment is longer than 80 characters.")
            self._entries(cluster)[cidr] = AccessListEntry(cidr=cidr, comment=comment, delete_after=when)
        self._run("put_access_list_entry", None, cluster.atlas_id, put)

    def delete_access_list_entry(self, *, cluster: ResourceRef, cidr: str) -> bool:
        return self._run("delete_access_list_entry", None, cluster.atlas_id,
                         lambda: self._entries(cluster).pop(cidr, None) is None)

    def _entries(self, cluster: ResourceRef) -> dict[str, AccessListEntry]:
        group_id, _ = split_cluster_id(cluster.atlas_id)
        self.atlas.project(group_id, "getGroupAccessListEntry")
        return self.atlas.access_lists.setdefault(group_id, {})

    def cluster_address(self, *, cluster: ResourceRef) -> str | None:
        return self._run("cluster_address", None, cluster.atlas_id, lambda: self._cluster_address(cluster))

    def _cluster_address(self, cluster: ResourceRef) -> str | None:
        group_id, name = split_cluster_id(cluster.atlas_id)
        project = self.atlas.projects.get(group_id)
        if project is None or name not in project.clusters:
            return None
        return f"mongodb+srv://{name.lower()}.{group_id[-5:].lower()}.mongodb.net"

    def _run(self, method: str, username: str | None, resource: str | None, action: Callable[[], T]) -> T:
        self.calls.append(Call(method=method, username=username, resource=resource))
        self.atlas.refresh()
        fault = self.faults.take(method)
        if fault is not None and not fault.landed:
            raise fault.make(method)
        result = action()
        if self.meanwhile is not None:
            self.meanwhile(method)
        if fault is not None:
            raise fault.make(method)  # it happened in Atlas; the answer was lost on the way back
        return result

    def _refuse_own(self, username: str, operation: str) -> None:
        if self._own is not None and username.strip().casefold() == self._own:
            raise refused(operation, status=403, code="OWN_IDENTITY",
                          detail=f"refusing to change the access of {username}: atlas-access calls Atlas as it")

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    # --- discovery and look-up -----------------------------------------------------------------------------

    def _discover(self, org_id: str, types: Sequence[DiscoveryType], progress: Progress | None) -> Inventory:
        members = self.atlas.org(org_id, "getOrg")
        counts = {"organizations": 0, "projects": 0, "clusters": 0, "users": 0}

        def tell(kind: str, amount: int = 1) -> None:
            counts[kind] += amount
            if progress is not None:
                progress(kind, dict(counts))

        tell("organizations")
        projects: list[DiscoveredProject] = []
        if DiscoveryType.PROJECTS in types:
            for project in (p for p in self.atlas.projects.values() if p.org_id == org_id):
                tell("projects")
                if project.clusters:
                    tell("clusters", len(project.clusters))
                projects.append(DiscoveredProject(
                    id=project.id, name=project.name, organization_id=org_id,
                    tags=tuple(Tag(key=k, value=v) for k, v in project.tags.items()),
                    clusters=tuple(DiscoveredCluster(name=n, state=s) for n, s in project.clusters.items())))
        users = []
        for member in members.values():
            tell("users")
            users.append(DiscoveredUser(id=member.user_id, username=member.username, status=member.status,
                                        org_roles=frozenset(member.org_roles),
                                        project_roles={g: frozenset(r) for g, r in member.projects.items() if r},
                                        team_ids=frozenset(t for t in member.teams if t in self.atlas.teams)))
        teams: tuple[DiscoveredTeam, ...] = ()
        if DiscoveryType.TEAMS in types:
            teams = tuple(DiscoveredTeam(id=t.id, name=t.name, project_roles={
                g: frozenset(r) for g, r in t.projects.items() if r and g in self.atlas.projects})
                for t in sorted(self.atlas.teams.values(), key=lambda t: t.name.casefold()) if t.org_id == org_id)
        return Inventory(organization_id=org_id, organization_name=self.atlas.orgs[org_id],
                         projects=tuple(projects), users=tuple(users), teams=teams)

    def _find(self, org_id: str, username: str) -> Member | None:
        self.atlas.org(org_id, "listOrgUsers")
        return self.atlas.member(org_id, username)

    def _user_access(self, resource: ResourceRef, username: str) -> UserAccess:
        member = self._find(resource.organization_id, username)
        if member is None:
            return NOBODY
        if resource.kind is ResourceKind.TEAM:
            if member.status not in MEMBER:
                return NOBODY
            held = frozenset({TEAM_MEMBER}) if resource.atlas_id in member.teams else frozenset()
            return UserAccess(user_id=member.user_id, status=member.status, roles=held)
        roles = member.org_roles if resource.kind is ResourceKind.ORGANIZATION else member.projects.get(
            resource.atlas_id)
        if resource.kind is not ResourceKind.ORGANIZATION and not roles:
            return NOBODY
        held = frozenset(roles or ()) if member.status in MEMBER else frozenset()  # an expired invitation: none
        return UserAccess(user_id=member.user_id, status=member.status, roles=held)

    # --- grant ---------------------------------------------------------------------------------------------

    def _grant_org(self, resource: ResourceRef, username: str, wanted: frozenset[str]) -> GrantResult:
        org_id = resource.organization_id
        member = self._find(org_id, username)
        roles = self.atlas.check_org_roles(wanted, "createOrgUser" if member is None else "addOrgUserRole")
        if member is None or member.status not in MEMBER:
            invited = self.atlas.invite(org_id, username, roles, {})
            return _added(invited, wanted)
        before = frozenset(member.org_roles)
        member.org_roles |= roles
        return GrantResult(user_id=member.user_id, status=member.status, roles_before=before,
                           added_roles=wanted - before, added_user=False)

    def _grant_project(self, resource: ResourceRef, username: str, wanted: frozenset[str]) -> GrantResult:
        group_id = resource.atlas_id
        member = self._find(resource.organization_id, username)
        in_project = member is not None and member.status in MEMBER and bool(member.projects.get(group_id))
        if member is None or not in_project:
            project = self.atlas.project(group_id, "addGroupUsers")
            roles = self.atlas.check_group_roles(wanted, "addGroupUsers")
            if member is not None and member.status in MEMBER:
                member.projects[group_id] = set(roles)
                return _added(member, wanted)
            return _added(self.atlas.invite(project.org_id, username, {"ORG_MEMBER"}, {group_id: set(roles)}), wanted)
        roles = self.atlas.check_group_roles(wanted, "addGroupUserRole")
        before = frozenset(member.projects[group_id])
        member.projects[group_id] |= roles
        return GrantResult(user_id=member.user_id, status=member.status, roles_before=before,
                           added_roles=wanted - before, added_user=False)

    def _grant_team(self, resource: ResourceRef, username: str) -> GrantResult:
        org_id, team_id = resource.organization_id, resource.atlas_id
        member = self._find(org_id, username)
        if member is None or member.status not in MEMBER:
            self.atlas.team(org_id, team_id, "createOrgUser")
            invited = self.atlas.invite(org_id, username, {"ORG_MEMBER"}, {}, teams=[team_id])
            return _added(invited, frozenset({TEAM_MEMBER}))
        self.atlas.team(org_id, team_id, "addOrgTeamUser")
        before = frozenset({TEAM_MEMBER}) if team_id in member.teams else frozenset()
        member.teams.add(team_id)
        return GrantResult(user_id=member.user_id, status=member.status, roles_before=before,
                           added_roles=frozenset({TEAM_MEMBER}) - before, added_user=False)

    # --- revoke --------------------------------------------------------------------------------------------

    def _revoke(self, resource: ResourceRef, username: str, roles: frozenset[str], remove_user: bool,
                user_id: str | None) -> RevokeResult:
        removed: frozenset[str] = frozenset()
        if user_id and resource.kind is ResourceKind.PROJECT and remove_user:
            if self._remove_user_by_id(resource, user_id):
                return RevokeResult(removed_roles=roles, removed_user=True)
        elif user_id and resource.kind is ResourceKind.PROJECT and roles:
            removed, done = self._remove_by_id(resource, user_id, roles)
            if done:
                return RevokeResult(removed_roles=removed, removed_user=False)
        member = self._find(resource.organization_id, username)
        if resource.kind is ResourceKind.TEAM:
            return self._revoke_team(resource, member, roles, remove_user)
        if resource.kind is ResourceKind.ORGANIZATION:
            return self._revoke_org(resource, member, roles, remove_user)
        rest = self._revoke_project(resource, member, roles - removed, remove_user)
        return replace(rest, removed_roles=rest.removed_roles | removed, already_gone=rest.already_gone and not removed)

    def _remove_user_by_id(self, resource: ResourceRef, user_id: str) -> bool:
        """removeGroupUser by the recorded id; Atlas refuses a user not in the project (or not in the org)."""
        member = self.atlas.members.get(resource.organization_id, {}).get(user_id)
        if resource.atlas_id not in self.atlas.projects or member is None or resource.atlas_id not in member.projects:
            return False
        del member.projects[resource.atlas_id]
        return True

    def _remove_by_id(self, resource: ResourceRef, user_id: str, roles: frozenset[str]) -> tuple[frozenset[str], bool]:
        """A call a role by the recorded id; Atlas refuses the last role, a user not there, an unknown project."""
        removed: set[str] = set()
        member = self.atlas.members.get(resource.organization_id, {}).get(user_id)
        for role in sorted(roles):
            held = member.projects.get(resource.atlas_id) if member is not None else None
            if resource.atlas_id not in self.atlas.projects or not held or (role in held and len(held) == 1):
                return frozenset(removed), False
            if not self._is_group_role(role):
                return frozenset(removed), False
            held.discard(role)
            removed.add(role)  # a role not held is removed all the same, as Atlas answers 200
        return frozenset(removed), True

    def _revoke_team(self, resource: ResourceRef, member: Member | None, roles: frozenset[str],
                     remove_user: bool) -> RevokeResult:
        team_id = resource.atlas_id
        if member is None or member.status not in MEMBER or team_id not in member.teams:
            return RevokeResult(removed_roles=frozenset(), removed_user=False, already_gone=True)
        if TEAM_MEMBER not in roles and not remove_user:
            return RevokeResult(removed_roles=frozenset(), removed_user=False, already_gone=False)
        if remove_user and member.status is not MembershipStatus.ACTIVE and member.teams <= {team_id} \
                and not member.projects and member.org_roles <= INVITED_ORG_ROLES:
            del self.atlas.members[resource.organization_id][member.user_id]
            return RevokeResult(removed_roles=frozenset({TEAM_MEMBER}), removed_user=True)
        member.teams.discard(team_id)
        return RevokeResult(removed_roles=frozenset({TEAM_MEMBER}), removed_user=remove_user)

    def _revoke_org(self, resource: ResourceRef, member: Member | None, roles: frozenset[str],
                    remove_user: bool) -> RevokeResult:
        if member is None:
            return RevokeResult(removed_roles=frozenset(), removed_user=False, already_gone=True)
        held = frozenset(member.org_roles)
        if remove_user or not (held - roles):
            del self.atlas.members[resource.organization_id][member.user_id]
            return RevokeResult(removed_roles=held if remove_user else held & roles, removed_user=True)
        member.org_roles -= roles
        return RevokeResult(removed_roles=held & roles, removed_user=False, already_gone=not (held & roles))

    def _revoke_project(self, resource: ResourceRef, member: Member | None, roles: frozenset[str],
                        remove_user: bool) -> RevokeResult:
        group_id = resource.atlas_id
        held = frozenset(member.projects.get(group_id, ())) if member is not None else frozenset()
        if member is None or not held:
            return RevokeResult(removed_roles=frozenset(), removed_user=False, already_gone=True)
        if remove_user or not (held - roles):
            only_here = set(member.projects) <= {group_id} and member.org_roles <= INVITED_ORG_ROLES
            if member.status is not ACTIVE and only_here:
                del self.atlas.members[resource.organization_id][member.user_id]  # withdraws the invitation
            else:
                del member.projects[group_id]
            return RevokeResult(removed_roles=held if remove_user else held & roles, removed_user=True)
        member.projects[group_id] -= roles
        return RevokeResult(removed_roles=held & roles, removed_user=False, already_gone=not (held & roles))

    @staticmethod
    def _is_group_role(role: str) -> bool:
        return role.startswith("GROUP_") and role.replace("_", "").isalnum() and role.isupper()

    # --- temporary database users --------------------------------------------------------------------------

    def _create_database_user(self, cluster: ResourceRef, username: str, password: str | None,
                              roles: tuple[DatabaseRole, ...], delete_after: datetime, description: str) -> None:
        group_id, name = split_cluster_id(cluster.atlas_id)
        operation = "createGroupDatabaseUser"
        project = self.atlas.project(group_id, operation)
        users = self.atlas.database_users[group_id]
        if name not in project.clusters:
            raise bad_request(operation, f"Scope names cluster {name}, which does not exist in group {group_id}.")
        if username not in users and password is not None and len(password) < 8:  # a taken name is updated
            raise bad_request(operation, "A SCRAM database user needs a password of at least 8 characters.")
        if username in users and users[username].x509 != (password is None):  # the update names the other database
            raise not_found(operation, "USERNAME_NOT_FOUND", f"No user with username {username} exists.")
        if username not in users and len(users) >= DATABASE_USERS_PER_PROJECT:
            raise bad_request(operation, f"Group {group_id} already has {DATABASE_USERS_PER_PROJECT} database users.",
                              "MAX_DATABASE_USERS_EXCEEDED")
        users[username] = DatabaseUser(username=username, cluster=name, roles=self._roles(roles, operation, group_id),
                                       delete_after=self._delete_after(delete_after, operation),
                                       description=description[:100], x509=password is None,
                                       certificates=users[username].certificates if username in users else 0)

    def _create_user_certificate(self, cluster: ResourceRef, username: str, months: int) -> str:
        group_id, _ = split_cluster_id(cluster.atlas_id)
        operation = "createGroupDatabaseUserCert"
        self.atlas.project(group_id, operation)
        if not 1 <= months <= 24:
            raise bad_request(operation, f"Invalid attribute monthsUntilExpiration {months}: must be 1 to 24.")
        user = self.atlas.database_users[group_id].get(username)
        if user is None:
            raise not_found(operation, "USERNAME_NOT_FOUND", f"No user with username {username} exists.")
        if not user.x509:
            raise bad_request(operation, f"The user {username} is not an Atlas-managed X.509 user.", "NOT_X509_USER")
        user.certificates += 1
        body = secrets.token_urlsafe(48)
        return (f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"
                f"-----BEGIN PRIVATE KEY-----\n{secrets.token_urlsafe(48)}\n-----END PRIVATE KEY-----\n")

    def _extend_database_user(self, cluster: ResourceRef, username: str, roles: tuple[DatabaseRole, ...],
                              delete_after: datetime, x509: bool) -> None:
        group_id, name = split_cluster_id(cluster.atlas_id)
        operation = "updateGroupDatabaseUser"
        project = self.atlas.project(group_id, operation)
        user = self.atlas.database_users[group_id].get(username)
        if user is None or user.x509 != x509:  # looked for on the other database
            raise not_found(operation, "USERNAME_NOT_FOUND", f"No user with username {username} exists.")
        if name not in project.clusters:
            raise bad_request(operation, f"Scope names cluster {name}, which does not exist in group {group_id}.")
        user.roles = self._roles(roles, operation, group_id)
        user.delete_after = self._delete_after(delete_after, operation)

    def _delete_database_user(self, cluster: ResourceRef, username: str, x509: bool) -> bool:
        group_id, _ = split_cluster_id(cluster.atlas_id)
        users = self.atlas.database_users.get(group_id, {})
        if username not in users or users[username].x509 != x509:  # on the other database: Atlas answers 404
            return True
        del users[username]
        return False

    def _roles(self, roles: tuple[DatabaseRole, ...], operation: str, group_id: str = "") -> tuple[DatabaseRole, ...]:
        if not roles:
            raise bad_request(operation, "A database user needs at least one role.")
        custom = self.atlas.custom_roles.get(group_id, {})
        for role in roles:
            if role.collection is not None or (role.role_name not in BUILT_IN_ROLES and role.role_name not in custom):
                raise bad_request(operation, f"No built-in or custom role named {role.role_name} exists.",
                                  "INVALID_ROLE_NAME")
        return roles

    def _delete_after(self, moment: datetime, operation: str) -> datetime:
        sent = moment.replace(microsecond=0)  # sent as ISO 8601 to the second
        now = self.atlas.now()
        if sent <= now or sent > now + DATABASE_USER_LIFETIME:
            raise bad_request(operation, f"deleteAfterDate {sent.isoformat()} must be in the future and within 7 days.",
                              "INVALID_DELETE_AFTER_DATE")
        return sent


def _added(member: Member, wanted: frozenset[str]) -> GrantResult:
    status = member.status if member.status in MEMBER else MembershipStatus.PENDING
    return GrantResult(user_id=member.user_id, status=status, roles_before=frozenset(), added_roles=wanted,
                       added_user=True)


def _implements_the_port(gateway: FakeGateway) -> AtlasGateway:
    return gateway  # mypy proves FakeGateway satisfies access.ports.AtlasGateway


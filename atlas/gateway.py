"""The domain's AtlasGateway port over the typed client: discover, look a user up, grant roles, revoke them.

Every change starts from a fresh look-up (`listOrgUsers?username=`), because adding a PENDING or ACTIVE user
is a 409 and a revocation must only take away what is still there; the exceptions are a revocation's first
try by the user id the grant recorded (the removal of roles from a person who keeps roles of their own, or of
a person the grant added to the project as an active member), where Atlas itself refuses what would be wrong
(the last role, a user who left) and the look-up path then takes over. Grants add only
the missing roles; revocations remove only the roles named, and remove the user when that would leave no role
(Atlas keeps at least one) or when asked to. A 404 while revoking means it is already done, so revoking
twice is harmless.
The bot never changes the access of the identity it calls Atlas as.

Every method of the port raises the domain's GatewayError family, never an AtlasError (`at_the_port`): the
races and 404s above are settled inside, where the Atlas errors still say exactly what happened.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from access.database_roles import DatabaseRole
from access.model import (
    TEAM_MEMBER,
    AccessListEntry,
    DiscoveryType,
    GrantResult,
    Inventory,
    MembershipStatus,
    ResourceKind,
    ResourceRef,
    RevokeResult,
    UserAccess,
)
from access.ports import AtlasGateway as AtlasGatewayPort
from access.ports import BeforeChange, Progress
from atlas.client import AtlasClient
from atlas.database_users import (
    DatabaseUsers,
    access_list_entry,
    create_custom_role,
    custom_role_names,
    delete_access_list_entry,
    delete_custom_role,
    put_access_list_entry,
)
from atlas.discovery import discover
from atlas.errors import AtlasBadRequest, AtlasConflict, AtlasNotFound, OwnIdentityRefused, at_the_port
from atlas.wire import OrgUser, membership_status, same_username

log = logging.getLogger(__name__)

T = TypeVar("T")
RACE_ROUNDS = 3  # look-up-then-add rounds before a conflict that keeps coming back is raised
# A 404 naming the resource itself is no race: looking the user up again cannot help.
RESOURCE_MISSING = frozenset({"GROUP_NOT_FOUND", "ORG_NOT_FOUND", "ORGANIZATION_NOT_FOUND", "TEAM_NOT_FOUND"})
INVITED_ORG_ROLES = frozenset({"ORG_MEMBER"})  # what a project invitation gives in the organization


class AtlasGateway:
    def __init__(self, client: AtlasClient, *, own_identity: str | None = None,
                 discovery_concurrency: int = 8) -> None:
        self.client = client
        self._own = {name.casefold() for name in (own_identity, client.identity) if name}
        self._discovery_concurrency = discovery_concurrency

    def __repr__(self) -> str:
        return f"AtlasGateway({self.client!r})"

    # --- the port ------------------------------------------------------------------------------------------

    @at_the_port
    def discover(self, *, organization_id: str, types: Sequence[DiscoveryType],
                 progress: Progress | None = None) -> Inventory:
        return discover(self.client, organization_id=organization_id, types=types,
                        concurrency=self._discovery_concurrency, progress=progress)

    @at_the_port
    def user_access(self, *, resource: ResourceRef, username: str) -> UserAccess:
        return _access(resource, self.find_user(organization_id=resource.organization_id, username=username))

    @at_the_port
    def grant(self, *, resource: ResourceRef, username: str, roles: Sequence[str],
              before_change: BeforeChange | None = None) -> GrantResult:
        self._refuse_own(username)
        wanted = frozenset(roles)
        looked = _FirstLook(resource, before_change)
        if resource.kind is ResourceKind.ORGANIZATION:
            return _with_retried_races(lambda: self._grant_org(resource, username, wanted, looked))
        if resource.kind is ResourceKind.TEAM:
            return _with_retried_races(lambda: self._grant_team(resource, username, looked))
        return _with_retried_races(lambda: self._grant_project(resource, username, wanted, looked))

    @at_the_port
    def revoke(self, *, resource: ResourceRef, username: str, roles: Sequence[str],
               remove_user: bool, user_id: str | None = None) -> RevokeResult:
        self._refuse_own(username)
        removed: frozenset[str] = frozenset()
        if user_id and resource.kind is ResourceKind.PROJECT and remove_user:
            if self._remove_project_user_by_id(resource, user_id):
                return RevokeResult(removed_roles=frozenset(roles), removed_user=True)
        elif user_id and resource.kind is ResourceKind.PROJECT and roles:
            removed, done = self._remove_project_roles_by_id(resource, user_id, frozenset(roles))
            if done:
                return RevokeResult(removed_roles=removed, removed_user=False)
        user = self.find_user(organization_id=resource.organization_id, username=username)
        if resource.kind is ResourceKind.TEAM:
            return self._revoke_team(resource, user, frozenset(roles), remove_user)
        if resource.kind is ResourceKind.ORGANIZATION:
            return self._revoke_org(resource, user, frozenset(roles), remove_user)
        rest = self._revoke_project(resource, user, frozenset(roles) - removed, remove_user)
        # the roles removed by id before Atlas refused one are part of what this revocation took away
        return replace(rest, removed_roles=rest.removed_roles | removed,
                       already_gone=rest.already_gone and not removed)

    @at_the_port
    def create_database_user(self, *, cluster: ResourceRef, username: str, password: str | None,
                             roles: Sequence[DatabaseRole], delete_after: datetime, description: str) -> None:
        DatabaseUsers(self.client).create(cluster_id=cluster.atlas_id, username=username, password=password,
                                          roles=roles, delete_after=delete_after, description=description)

    @at_the_port
    def create_user_certificate(self, *, cluster: ResourceRef, username: str, months: int) -> str:
        return DatabaseUsers(self.client).certificate(cluster_id=cluster.atlas_id, username=username, months=months)

    @at_the_port
    def extend_database_user(self, *, cluster: ResourceRef, username: str, roles: Sequence[DatabaseRole],
                             delete_after: datetime, x509: bool = False) -> None:
        DatabaseUsers(self.client).extend(cluster_id=cluster.atlas_id, username=username, roles=roles,
                                          delete_after=delete_after, x509=x509)

    @at_the_port
    def delete_database_user(self, *, cluster: ResourceRef, username: str, x509: bool = False) -> bool:
        return DatabaseUsers(self.client).delete(cluster_id=cluster.atlas_id, username=username, x509=x509)

    @at_the_port
    def create_custom_role(self, *, cluster: ResourceRef, name: str, role: DatabaseRole) -> None:
        create_custom_role(self.client, cluster_id=cluster.atlas_id, name=name, role=role)

    @at_the_port
    def custom_role_names(self, *, cluster: ResourceRef) -> frozenset[str]:
        return custom_role_names(self.client, cluster_id=cluster.atlas_id)

    @at_the_port
    def delete_custom_role(self, *, cluster: ResourceRef, name: str) -> bool:
        return delete_custom_role(self.client, cluster_id=cluster.atlas_id, name=name)

    @at_the_port
    def access_list_entry(self, *, cluster: ResourceRef, cidr: str) -> AccessListEntry | None:
        return access_list_entry(self.client, cluster_id=cluster.atlas_id, cidr=cidr)

    @at_the_port
    def put_access_list_entry(self, *, cluster: ResourceRef, cidr: str, delete_after: datetime, comment: str) -> None:
        put_access_list_entry(self.client, cluster_id=cluster.atlas_id, cidr=cidr, delete_after=delete_after,
                              comment=comment)

    @at_the_port
    def delete_access_list_entry(self, *, cluster: ResourceRef, cidr: str) -> bool:
        return delete_access_list_entry(self.client, cluster_id=cluster.atlas_id, cidr=cidr)

    @at_the_port
    def cluster_address(self, *, cluster: ResourceRef) -> str | None:
        return DatabaseUsers(self.client).address(cluster_id=cluster.atlas_id)

    # --- look-up -------------------------------------------------------------------------------------------

    def find_user(self, *, organization_id: str, username: str) -> OrgUser | None:
        """The org's entry for `username` (any status), or None."""
        body = self.client.call("listOrgUsers", path_params={"orgId": organization_id},
                                params={"username": username}) or {}
        matches = [OrgUser.from_json(u) for u in body.get("results") or () if same_username(u["username"], username)]
        # An EXPIRED entry may sit beside the PENDING one that replaced it: the live one counts.
        return next((u for u in matches if u.is_member), matches[0] if matches else None)

    def _refuse_own(self, username: str) -> None:
        if username.strip().casefold() in self._own:
            raise OwnIdentityRefused(username)

    # --- grant ---------------------------------------------------------------------------------------------

    def _grant_org(self, resource: ResourceRef, username: str, wanted: frozenset[str],
                   looked: _FirstLook) -> GrantResult:
        org_id = resource.organization_id
        user = looked(self.find_user(organization_id=org_id, username=username))
        if user is None or not user.is_member:
            # An EXPIRED or REJECTED invitation is replaced by a new one.
            body = self.client.call("createOrgUser", path_params={"orgId": org_id},
                                    json={"username": username, "roles": {"orgRoles": sorted(wanted)}})
            return _added(body, wanted)
        missing = wanted - user.org_roles
        for role in sorted(missing):
            self._add_role("addOrgUserRole", {"orgId": org_id, "userId": user.id}, {"orgRole": role})
        return GrantResult(user_id=user.id, status=user.status, roles_before=user.org_roles,
                           added_roles=missing, added_user=False)

    def _grant_project(self, resource: ResourceRef, username: str, wanted: frozenset[str],
                       looked: _FirstLook) -> GrantResult:
        group_id = resource.atlas_id
        user = looked(self.find_user(organization_id=resource.organization_id, username=username))
        if user is None or not user.in_project(group_id):
            # Atlas decides by the user's standing: ACTIVE org member -> in the project at once; pending or
            # unknown -> an invitation to the org and the project (the answer says which).
            body = self.client.call("addGroupUsers", path_params={"groupId": group_id},
                                    json={"username": username, "roles": sorted(wanted)})
            return _added(body, wanted)
        before = user.project_roles[group_id]
        missing = wanted - before
        for role in sorted(missing):
            self._add_role("addGroupUserRole", {"groupId": group_id, "userId": user.id}, {"groupRole": role})
        return GrantResult(user_id=user.id, status=user.status, roles_before=before, added_roles=missing,
                           added_user=False)

    def _grant_team(self, resource: ResourceRef, username: str, looked: _FirstLook) -> GrantResult:
        """Membership of the team: `addOrgTeamUser` for an org member; someone who is not one is invited to the
        organization with the team (`createOrgUser` with `teamIds`), as for org grants, and joins on accepting."""
        org_id, team_id = resource.organization_id, resource.atlas_id
        user = looked(self.find_user(organization_id=org_id, username=username))
        if user is None or not user.is_member:
            body = self.client.call("createOrgUser", path_params={"orgId": org_id}, json={
                "username": username, "roles": {"orgRoles": sorted(INVITED_ORG_ROLES)}, "teamIds": [team_id]})
            return _added(body, frozenset({TEAM_MEMBER}))
        before = frozenset({TEAM_MEMBER}) if team_id in user.team_ids else frozenset()
        if not before:
            self.client.call("addOrgTeamUser", path_params={"orgId": org_id, "teamId": team_id},
                             json={"id": user.id})
        return GrantResult(user_id=user.id, status=user.status, roles_before=before,
                           added_roles=frozenset({TEAM_MEMBER}) - before, added_user=False)

    def _add_role(self, operation_id: str, path: dict[str, str], body: dict[str, str]) -> None:
        try:
            self.client.call(operation_id, path_params=path, json=body)
        except AtlasConflict:
            log.info("%s: %s already held", operation_id, next(iter(body.values())))

    # --- revoke --------------------------------------------------------------------------------------------

    def _revoke_org(self, resource: ResourceRef, user: OrgUser | None, roles: frozenset[str],
                    remove_user: bool) -> RevokeResult:
        if user is None:
            return RevokeResult(removed_roles=frozenset(), removed_user=False, already_gone=True)
        path = {"orgId": resource.organization_id, "userId": user.id}
        held = user.org_roles
        if remove_user or not (held - roles):
            gone = self._delete("removeOrgUser", path)
            return RevokeResult(removed_roles=held if remove_user else held & roles, removed_user=True,
                                already_gone=gone)
        return self._remove_roles("removeOrgUserRole", path, "orgRole", held & roles)

    def _revoke_project(self, resource: ResourceRef, user: OrgUser | None, roles: frozenset[str],
                        remove_user: bool) -> RevokeResult:
        group_id = resource.atlas_id
        held = user.project_roles.get(group_id, frozenset()) if user else frozenset()
        if user is None or not held:
            return RevokeResult(removed_roles=frozenset(), removed_user=False, already_gone=True)
        if remove_user or not (held - roles):
            gone = self._remove_from_project(resource, user)
            return RevokeResult(removed_roles=held if remove_user else held & roles, removed_user=True,
                                already_gone=gone)
        path = {"groupId": group_id, "userId": user.id}
        return self._remove_roles("removeGroupUserRole", path, "groupRole", held & roles)

    def _revoke_team(self, resource: ResourceRef, user: OrgUser | None, roles: frozenset[str],
                     remove_user: bool) -> RevokeResult:
        """Out of the team (`removeOrgTeamUser`); a team or user gone meanwhile (404) is already done. A person
        whose invitation to the organization this grant made, still pending and carrying nothing else, has the
        invitation withdrawn (`removeOrgUser`), as for projects."""
        if user is None or not user.is_member or resource.atlas_id not in user.team_ids:
            return RevokeResult(removed_roles=frozenset(), removed_user=False, already_gone=True)
        if TEAM_MEMBER not in roles and not remove_user:
            return RevokeResult(removed_roles=frozenset(), removed_user=False, already_gone=False)
        if remove_user and user.status is not MembershipStatus.ACTIVE and user.team_ids <= {resource.atlas_id} \
                and not user.project_roles and user.org_roles <= INVITED_ORG_ROLES:
            gone = self._delete("removeOrgUser", {"orgId": resource.organization_id, "userId": user.id})
            return RevokeResult(removed_roles=frozenset({TEAM_MEMBER}), removed_user=True, already_gone=gone)
        try:
            self.client.call("removeOrgTeamUser", json={"id": user.id}, path_params={
                "orgId": resource.organization_id, "teamId": resource.atlas_id})
        except AtlasNotFound:  # the team was deleted in Atlas, or the person left: nothing is left to take
            return RevokeResult(removed_roles=frozenset(), removed_user=False, already_gone=True)
        return RevokeResult(removed_roles=frozenset({TEAM_MEMBER}), removed_user=remove_user, already_gone=False)

    def _remove_project_roles_by_id(self, resource: ResourceRef, user_id: str,
                                    roles: frozenset[str]) -> tuple[frozenset[str], bool]:
        """The common revocation, a call a role: the person keeps roles of their own in the project, so the roles
        the grant added are removed by the user id it recorded, with no look-up first (half the calls, so half
        the exposure to 429s and 5xx). (The roles removed, whether all were.) Atlas refuses a role when it was
        their last (their own were taken away meanwhile), when they left, or with any other 400/404/409; the
        look-up path then decides for the rest, as it always did."""
        path = {"groupId": resource.atlas_id, "userId": user_id}
        removed: set[str] = set()
        for role in sorted(roles):
            try:
                self.client.call("removeGroupUserRole", path_params=path, json={"groupRole": role})
            except (AtlasBadRequest, AtlasNotFound, AtlasConflict) as refused:
                log.info("removing %s by user id was refused (%s); looking the user up", role, refused.error_code)
                return frozenset(removed), False
            removed.add(role)
        return frozenset(removed), True

    def _remove_project_user_by_id(self, resource: ResourceRef, user_id: str) -> bool:
        """The grant added the person to the project as an active member of the organization (the caller passes
        the id only then: there is no invitation to withdraw), so they leave the project by the recorded id, in
        one call with no look-up. Whether that went through; Atlas refusing it (they left meanwhile, an unknown
        project, any 400/404/409) leaves the look-up path to decide, as it always did."""
        try:
            self.client.call("removeGroupUser", path_params={"groupId": resource.atlas_id, "userId": user_id})
        except (AtlasBadRequest, AtlasNotFound, AtlasConflict) as refused:
            log.info("removing the user by id was refused (%s); looking the user up", refused.error_code)
            return False
        return True

    def _remove_from_project(self, resource: ResourceRef, user: OrgUser) -> bool:
        """Take the user out of the project; True if Atlas said they were already gone.

        A user still PENDING in the org whose invitation carries only this project (and the ORG_MEMBER a
        project invitation comes with) is removed from the org, which withdraws the invitation: removing
        them from the project alone would leave a live invitation to the organization.
        """
        if user.status is not MembershipStatus.ACTIVE and set(user.project_roles) <= {resource.atlas_id} \
                and user.org_roles <= INVITED_ORG_ROLES:
            return self._delete("removeOrgUser", {"orgId": resource.organization_id, "userId": user.id})
        return self._delete("removeGroupUser", {"groupId": resource.atlas_id, "userId": user.id})

    def _remove_roles(self, operation_id: str, path: dict[str, str], field: str,
                      roles: frozenset[str]) -> RevokeResult:
        removed: set[str] = set()
        for role in sorted(roles):
            try:
                self.client.call(operation_id, path_params=path, json={field: role})
            except AtlasNotFound:  # the user left meanwhile: nothing more to take away
                return RevokeResult(removed_roles=frozenset(removed), removed_user=False, already_gone=True)
            removed.add(role)
        return RevokeResult(removed_roles=frozenset(removed), removed_user=False, already_gone=not roles)

    def _delete(self, operation_id: str, path: dict[str, str]) -> bool:
        try:
            self.client.call(operation_id, path_params=path)
        except AtlasNotFound:
            return True
        return False


def _access(resource: ResourceRef, user: OrgUser | None) -> UserAccess:
    """What `user` (the org's entry, or None) holds on `resource`."""
    if user is None:
        return UserAccess(user_id=None, status=None, roles=frozenset())
    if resource.kind is ResourceKind.ORGANIZATION:
        return UserAccess(user_id=user.id, status=user.status, roles=_held(user, user.org_roles))
    if resource.kind is ResourceKind.TEAM:
        if not user.is_member:
            return UserAccess(user_id=None, status=None, roles=frozenset())
        in_team = frozenset({TEAM_MEMBER}) if resource.atlas_id in user.team_ids else frozenset()
        return UserAccess(user_id=user.id, status=user.status, roles=in_team)
    roles = user.project_roles.get(resource.atlas_id)
    if not roles:
        return UserAccess(user_id=None, status=None, roles=frozenset())
    return UserAccess(user_id=user.id, status=user.status, roles=_held(user, roles))


class _FirstLook:
    """Hands the first look-up of a grant to `before_change`, before anything is asked of Atlas to change.

    A look-up repeated after a race is not handed on: what it sees may already include this grant's work.
    """

    def __init__(self, resource: ResourceRef, before_change: BeforeChange | None) -> None:
        self._resource, self._before_change = resource, before_change

    def __call__(self, user: OrgUser | None) -> OrgUser | None:
        if self._before_change is not None:
            hook, self._before_change = self._before_change, None
            hook(_access(self._resource, user))
        return user


def _held(user: OrgUser, roles: frozenset[str]) -> frozenset[str]:
    """Roles that count: an expired or rejected invitation holds none."""
    return roles if user.is_member else frozenset()


def _added(body: dict[str, Any], wanted: frozenset[str]) -> GrantResult:
    return GrantResult(user_id=str(body["id"]), status=membership_status(body.get("orgMembershipStatus")),
                       roles_before=frozenset(), added_roles=wanted, added_user=True)


def _with_retried_races(attempt: Callable[[], T]) -> T:
    """Run look-up-then-change again when Atlas says the user appeared (409) or vanished (404) meanwhile."""
    for round_ in range(1, RACE_ROUNDS + 1):
        try:
            return attempt()
        except (AtlasConflict, AtlasNotFound) as race:
            if round_ == RACE_ROUNDS or race.error_code in RESOURCE_MISSING:
                raise
            log.info("grant raced another change (%s); looking the user up again", race.error_code)
    raise AssertionError("unreachable")


if TYPE_CHECKING:

    def _implements_the_port(gateway: AtlasGateway) -> AtlasGatewayPort:
        return gateway  # mypy proves the gateway satisfies access.ports.AtlasGateway

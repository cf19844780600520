"""Organization and project users (the 2025-02-19 "MongoDB Cloud Users" operations)."""

from __future__ import annotations

from typing import Any

from atlas.sandbox import members, views
from atlas.sandbox.context import Ctx, Handler, Reply
from atlas.sandbox.errors import bad_request
from atlas.sandbox.records import Membership


def _org_user(ctx: Ctx, membership: Membership) -> dict[str, Any]:
    return views.org_user(ctx.state.people[membership.user_id], membership)


def _group_user(ctx: Ctx, membership: Membership) -> dict[str, Any]:
    return views.group_user(ctx.state.people[membership.user_id], membership, ctx.params["groupId"])


def _filtered(ctx: Ctx, found: list[Membership]) -> list[Membership]:
    username = ctx.query.get("username")
    if username:
        found = [m for m in found if ctx.state.people[m.user_id].username.lower() == username.lower()]
    status = ctx.query.get("orgMembershipStatus")
    if status:
        if status not in members.STATUSES:
            raise bad_request(f"Invalid orgMembershipStatus {status}; expected one of {', '.join(members.STATUSES)}.")
        found = [m for m in found if m.status == status]
    return found


def _username(ctx: Ctx) -> str:
    username = str(ctx.field("username")).strip()
    if "@" not in username or username.startswith("@") or username.endswith("@"):
        raise bad_request(f"Invalid username {username}: MongoDB Cloud usernames are email addresses.")
    return username


# --- organization users ---------------------------------------------------------------------------------------


def list_org_users(ctx: Ctx) -> Reply:
    found = list(ctx.state.members[ctx.params["orgId"]].values())
    return ctx.page(_filtered(ctx, found), lambda m: _org_user(ctx, m))


def get_org_user(ctx: Ctx) -> Reply:
    return 200, _org_user(ctx, ctx.state.membership(ctx.params["orgId"], ctx.params["userId"]))


def create_org_user(ctx: Ctx) -> Reply:
    """An invitation (PENDING) carrying org roles and, optionally, project roles; 409 if PENDING or ACTIVE."""
    roles = ctx.field("roles", dict)
    org_roles = members.org_roles(_list(roles.get("orgRoles"), "roles.orgRoles"))
    projects = {}
    for assignment in _list(roles.get("groupRoleAssignments") or [], "roles.groupRoleAssignments"):
        if not isinstance(assignment, dict) or not isinstance(assignment.get("groupId"), str):
            raise bad_request("Each groupRoleAssignment needs a groupId and groupRoles.")
        projects[assignment["groupId"]] = members.group_roles(_list(assignment.get("groupRoles"), "groupRoles"))
    teams = [ctx.state.team(ctx.params["orgId"], str(t)) for t in ctx.field("teamIds", list, required=False) or []]
    membership = members.invite(ctx.state, org_id=ctx.params["orgId"], username=_username(ctx), roles=org_roles,
                                projects=projects, inviter=ctx.caller.email, now=ctx.now)
    for team in teams:
        team.user_ids.add(membership.user_id)
        membership.team_ids.add(team.id)
    return 201, _org_user(ctx, membership)


def update_org_user(ctx: Ctx) -> Reply:
    """PATCH replaces the whole role set given (the project avoids it for grants; simulated for completeness)."""
    membership = ctx.state.membership(ctx.params["orgId"], ctx.params["userId"])
    roles = ctx.field("roles", dict, required=False) or {}
    org_roles = None if roles.get("orgRoles") is None else members.org_roles(_list(roles["orgRoles"], "orgRoles"))
    projects: dict[str, set[str]] = {}
    for assignment in _list(roles.get("groupRoleAssignments") or [], "roles.groupRoleAssignments"):
        group_id = str(assignment.get("groupId") if isinstance(assignment, dict) else None)
        if ctx.state.project(group_id).org_id != membership.org_id:
            raise bad_request(f"Group {group_id} is not in organization {membership.org_id}.")
        named = set(_list(assignment.get("groupRoles") or [], "groupRoles"))
        projects[group_id] = members.group_roles(named) if named else set()
    # Everything was checked above: only now does anything change.
    membership.org_roles = org_roles if org_roles is not None else membership.org_roles
    for group_id, group_roles in projects.items():
        ctx.state.set_group_roles(membership, group_id, group_roles)
    return 200, _org_user(ctx, membership)


def add_org_user_role(ctx: Ctx) -> Reply:
    membership = ctx.state.membership(ctx.params["orgId"], ctx.params["userId"])
    role = members.org_roles([ctx.field("orgRole")]).pop()
    members.add_org_role(membership, role)
    return 200, _org_user(ctx, membership)


def remove_org_user_role(ctx: Ctx) -> Reply:
    membership = ctx.state.membership(ctx.params["orgId"], ctx.params["userId"])
    role = members.org_roles([ctx.field("orgRole")]).pop()
    members.remove_org_role(membership, role)
    return 200, _org_user(ctx, membership)


def remove_org_user(ctx: Ctx) -> Reply:
    """Removes the user (or withdraws the invitation), with every project role they held in the org."""
    ctx.state.drop_membership(ctx.state.membership(ctx.params["orgId"], ctx.params["userId"]))
    return 204, None


# --- project users --------------------------------------------------------------------------------------------


def list_group_users(ctx: Ctx) -> Reply:
    found = ctx.state.group_users(ctx.params["groupId"])
    return ctx.page(_filtered(ctx, found), lambda m: _group_user(ctx, m))


def get_group_user(ctx: Ctx) -> Reply:
    return 200, _group_user(ctx, ctx.state.group_membership(ctx.params["groupId"], ctx.params["userId"]))


def add_group_users(ctx: Ctx) -> Reply:
    roles = members.group_roles(_list(ctx.field("roles", list), "roles"))
    membership = members.add_to_group(ctx.state, group_id=ctx.params["groupId"], username=_username(ctx),
                                      roles=roles, inviter=ctx.caller.email, now=ctx.now)
    return 201, _group_user(ctx, membership)


def add_group_user_role(ctx: Ctx) -> Reply:
    membership = ctx.state.group_membership(ctx.params["groupId"], ctx.params["userId"])
    role = members.group_roles([ctx.field("groupRole")]).pop()
    members.add_group_role(ctx.state, membership, ctx.params["groupId"], role)
    return 200, _group_user(ctx, membership)


def remove_group_user_role(ctx: Ctx) -> Reply:
    membership = ctx.state.group_membership(ctx.params["groupId"], ctx.params["userId"])
    role = members.group_roles([ctx.field("groupRole")]).pop()
    members.remove_group_role(ctx.state, membership, ctx.params["groupId"], role)
    return 200, _group_user(ctx, membership)


def remove_group_user(ctx: Ctx) -> Reply:
    membership = ctx.state.group_membership(ctx.params["groupId"], ctx.params["userId"])
    ctx.state.set_group_roles(membership, ctx.params["groupId"], set())
    return 204, None


def _list(value: object, name: str) -> list[Any]:
    if not isinstance(value, list):
        raise bad_request(f"Invalid attribute {name}: expected an array.")
    return value


HANDLERS: dict[str, Handler] = {
    "listOrgUsers": list_org_users,
    "getOrgUser": get_org_user,
    "createOrgUser": create_org_user,
    "updateOrgUser": update_org_user,
    "addOrgUserRole": add_org_user_role,
    "removeOrgUserRole": remove_org_user_role,
    "removeOrgUser": remove_org_user,
    "listGroupUsers": list_group_users,
    "getGroupUser": get_group_user,
    "addGroupUsers": add_group_users,
    "addGroupUserRole": add_group_user_role,
    "removeGroupUserRole": remove_group_user_role,
    "removeGroupUser": remove_group_user,
}

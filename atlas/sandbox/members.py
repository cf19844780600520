"""Membership rules as Atlas enforces them: org additions are invitations, 409 on duplicates, a user keeps a role."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from access.model import ORG_ROLES
from atlas.sandbox.errors import (
    CANNOT_REMOVE_LAST_ROLE,
    INVALID_ROLE,
    ORG_USER_ALREADY_EXISTS,
    ROLE_ALREADY_ASSIGNED,
    USER_ALREADY_IN_GROUP,
    bad_request,
    conflict,
    not_found,
)
from atlas.sandbox.records import Membership
from atlas.sandbox.state import State

ACTIVE, PENDING = "ACTIVE", "PENDING"
INVITATION_EXPIRED, INVITATION_REJECTED = "INVITATION_EXPIRED", "INVITATION_REJECTED"
STATUSES = (PENDING, ACTIVE, INVITATION_EXPIRED, INVITATION_REJECTED)
INVITATION_TTL = timedelta(days=30)
# The spec no longer enumerates project roles; any GROUP_* name is taken, as Atlas adds new ones over time.
_GROUP_ROLE = re.compile(r"^GROUP_[A-Z0-9_]+$")


def org_roles(roles: Iterable[object], *, allow_empty: bool = False) -> set[str]:
    checked = set()
    for role in roles:
        if not isinstance(role, str) or role not in ORG_ROLES:
            raise bad_request(f"Invalid organization role {role!r}; expected one of {', '.join(ORG_ROLES)}.",
                              INVALID_ROLE)
        checked.add(role)
    if not checked and not allow_empty:
        raise bad_request("A user must have at least one organization role.")
    return checked


def group_roles(roles: Iterable[object]) -> set[str]:
    checked = set()
    for role in roles:
        if not isinstance(role, str) or not _GROUP_ROLE.match(role):
            raise bad_request(f"Invalid project role {role!r}; project roles are GROUP_* names.", INVALID_ROLE)
        checked.add(role)
    if not checked:
        raise bad_request("A user must have at least one project role.")
    return checked


def invite(state: State, *, org_id: str, username: str, roles: set[str], projects: Mapping[str, set[str]],
           inviter: str, now: datetime) -> Membership:
    """An org invitation (PENDING for 30 days); 409 if the person is already PENDING or ACTIVE."""
    existing = state.membership_of(state.org(org_id).id, username)
    _check_projects(state, org_id, projects)
    if existing is not None and existing.status in (PENDING, ACTIVE):
        raise conflict(f"The user {username} is already {existing.status.lower()} in organization {org_id}.",
                       ORG_USER_ALREADY_EXISTS)
    if existing is not None:  # an expired or rejected invitation is replaced by the new one
        state.drop_membership(existing)
    person = state.person(username, now=now)
    membership = Membership(org_id=org_id, user_id=person.id, status=PENDING, org_roles=set(roles),
                            invited_at=now, invitation_expires_at=now + INVITATION_TTL, inviter=inviter)
    state.members[org_id][person.id] = membership
    state.pending[(org_id, person.id)] = now + INVITATION_TTL
    _assign_projects(state, membership, projects)
    return membership


def join(state: State, *, org_id: str, username: str, roles: set[str], projects: Mapping[str, set[str]],
         now: datetime) -> Membership:
    """An ACTIVE member straight away (the seeding path: someone who joined long ago)."""
    existing = state.membership_of(state.org(org_id).id, username)
    _check_projects(state, org_id, projects)
    if existing is not None:
        state.drop_membership(existing)
    person = state.person(username, now=now)
    membership = Membership(org_id=org_id, user_id=person.id, status=ACTIVE, org_roles=set(roles))
    state.members[org_id][person.id] = membership
    _assign_projects(state, membership, projects)
    return membership


def accept(state: State, *, org_id: str, username: str) -> Membership:
    """The person clicked the invitation: PENDING becomes ACTIVE with the roles the invitation carried."""
    membership = state.membership_of(org_id, username)
    if membership is None or membership.status != PENDING:
        raise not_found(f"No pending invitation for {username} in organization {org_id}.")
    membership.status = ACTIVE
    state.pending.pop((org_id, membership.user_id), None)
    return membership


def add_to_group(state: State, *, group_id: str, username: str, roles: set[str], inviter: str,
                 now: datetime) -> Membership:
    """addGroupUsers: at once for a PENDING or ACTIVE org member, otherwise an org invitation carrying the roles."""
    project = state.project(group_id)
    membership = state.membership_of(project.org_id, username)
    if membership is not None and membership.status in (PENDING, ACTIVE):
        if group_id in membership.group_roles:
            raise conflict(f"The user {username} is already in group {group_id}.", USER_ALREADY_IN_GROUP)
        state.set_group_roles(membership, group_id, roles)
        return membership
    return invite(state, org_id=project.org_id, username=username, roles={"ORG_MEMBER"},
                  projects={group_id: roles}, inviter=inviter, now=now)


def add_org_role(membership: Membership, role: str) -> None:
    if role in membership.org_roles:
        raise conflict(f"The user already has the organization role {role}.", ROLE_ALREADY_ASSIGNED)
    membership.org_roles.add(role)


def remove_org_role(membership: Membership, role: str) -> None:
    """Take one org role away; the last one cannot go (remove the user instead); a role not held is a no-op."""
    if role not in membership.org_roles:
        return
    if len(membership.org_roles) == 1:
        raise bad_request(f"Cannot remove {role}: a user must have at least one organization role; "
                          "remove the user from the organization instead.", CANNOT_REMOVE_LAST_ROLE)
    membership.org_roles.discard(role)


def add_group_role(state: State, membership: Membership, group_id: str, role: str) -> None:
    held = membership.group_roles[group_id]
    if role in held:
        raise conflict(f"The user already has the project role {role}.", ROLE_ALREADY_ASSIGNED)
    state.set_group_roles(membership, group_id, held | {role})


def remove_group_role(state: State, membership: Membership, group_id: str, role: str) -> None:
    held = membership.group_roles[group_id]
    if role not in held:
        return
    if len(held) == 1:
        raise bad_request(f"Cannot remove {role}: a user must have at least one project role; "
                          "remove the user from the project instead.", CANNOT_REMOVE_LAST_ROLE)
    state.set_group_roles(membership, group_id, held - {role})


def expire_invitations(state: State, *, now: datetime) -> int:
    """Invitations older than 30 days turn INVITATION_EXPIRED; how many did."""
    due = [key for key, expires in state.pending.items() if expires <= now]
    for org_id, user_id in due:
        state.members[org_id][user_id].status = INVITATION_EXPIRED
        del state.pending[(org_id, user_id)]
    return len(due)


def _check_projects(state: State, org_id: str, projects: Mapping[str, set[str]]) -> None:
    """Every project is in the org and every role a GROUP_* name, before anything changes."""
    for group_id, roles in projects.items():
        if state.project(group_id).org_id != org_id:
            raise bad_request(f"Group {group_id} is not in organization {org_id}.")
        if roles:
            group_roles(roles)


def _assign_projects(state: State, membership: Membership, projects: Mapping[str, set[str]]) -> None:
    for group_id, roles in projects.items():
        if roles:
            state.set_group_roles(membership, group_id, set(roles))

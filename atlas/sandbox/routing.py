"""From a method and a raw path to an operation of `atlas.operations` and its decoded path parameters.

Besides the operations, the router knows the OAuth endpoints and the deprecated families (the old invitation
calls and friends), which it names clearly instead of pretending they are unknown paths.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import unquote

from atlas.operations import OPERATIONS, Operation

API_PREFIX = "/api/atlas/v2"
TOKEN_PATH = "/api/oauth/token"
REVOKE_PATH = "/api/oauth/revoke"
TOKEN_OPERATION = "oauthToken"  # not Admin API operations; the names calls and faults use for the OAuth endpoints
REVOKE_OPERATION = "oauthRevoke"


class RouteKind(StrEnum):
    API = "api"
    TOKEN = "token"
    REVOKE = "revoke"
    UNKNOWN = "unknown"
    DEPRECATED = "deprecated"
    WRONG_METHOD = "wrong_method"


@dataclass(frozen=True, kw_only=True)
class Route:
    kind: RouteKind
    operation: Operation | None = None
    params: dict[str, str] = field(default_factory=dict)
    detail: str = ""

    @property
    def operation_id(self) -> str | None:
        if self.kind is RouteKind.TOKEN:
            return TOKEN_OPERATION
        if self.kind is RouteKind.REVOKE:
            return REVOKE_OPERATION
        return self.operation.operation_id if self.operation else None


# Deprecated in the spec (sunset 2027-07-01) and deliberately not simulated: users invited through them are
# invisible to the 2025-02-19 calls, so a project that calls them is wrong even while Atlas still answers.
_DEPRECATED: tuple[tuple[str, str, str, str], ...] = (
    ("createOrgInvite", "POST", "/orgs/{orgId}/invites", "createOrgUser"),
    ("listOrgInvites", "GET", "/orgs/{orgId}/invites", "listOrgUsers"),
    ("updateOrgInvites", "PATCH", "/orgs/{orgId}/invites", "createOrgUser"),
    ("getOrgInvite", "GET", "/orgs/{orgId}/invites/{invitationId}", "getOrgUser"),
    ("updateOrgInviteById", "PATCH", "/orgs/{orgId}/invites/{invitationId}", "addOrgUserRole"),
    ("deleteOrgInvite", "DELETE", "/orgs/{orgId}/invites/{invitationId}", "removeOrgUser"),
    ("updateOrgUserRoles", "PUT", "/orgs/{orgId}/users/{userId}/roles", "addOrgUserRole/removeOrgUserRole"),
    ("createGroupInvite", "POST", "/groups/{groupId}/invites", "addGroupUsers"),
    ("listGroupInvites", "GET", "/groups/{groupId}/invites", "listGroupUsers"),
    ("updateGroupInvites", "PATCH", "/groups/{groupId}/invites", "addGroupUsers"),
    ("getGroupInvite", "GET", "/groups/{groupId}/invites/{invitationId}", "getGroupUser"),
    ("updateGroupInviteById", "PATCH", "/groups/{groupId}/invites/{invitationId}", "addGroupUserRole"),
    ("deleteGroupInvite", "DELETE", "/groups/{groupId}/invites/{invitationId}", "removeGroupUser"),
    ("addGroupAccessUser", "POST", "/groups/{groupId}/access", "addGroupUsers"),
    ("updateGroupUserRoles", "PUT", "/groups/{groupId}/users/{userId}/roles", "addGroupUserRole/removeGroupUserRole"),
    ("addOrgTeamUsers", "POST", "/orgs/{orgId}/teams/{teamId}/users", "addOrgTeamUser"),
    ("removeOrgTeamUserFromTeam", "DELETE", "/orgs/{orgId}/teams/{teamId}/users/{userId}", "removeOrgTeamUser"),
    ("createUser", "POST", "/users", "createOrgUser"),
    ("getUser", "GET", "/users/{userId}", "getOrgUser"),
    ("getUserByName", "GET", "/users/byName/{userName}", "listOrgUsers?username="),
)


def _compile(operation: Operation) -> tuple[Operation, re.Pattern[str], int]:
    return operation, operation.pattern(), operation.path.count("{")


# Fewest parameters first, so a literal segment (teams/byName/{teamName}) wins over a parameter.
_ROUTES = sorted((_compile(o) for o in OPERATIONS.values()), key=lambda row: row[2])
_DEPRECATED_ROUTES = [
    (_compile(Operation(operation_id=oid, method=method, path=API_PREFIX + path, version="2023-01-01")), use)
    for oid, method, path, use in _DEPRECATED
]


def resolve(method: str, raw_path: str) -> Route:
    """The route for a request; `raw_path` is the path as sent (percent-encoded, without the query)."""
    method = method.upper()
    path = raw_path.rstrip("/") or "/"
    if path in (TOKEN_PATH, REVOKE_PATH):
        if method != "POST":
            return Route(kind=RouteKind.WRONG_METHOD, detail=f"{path} takes POST, not {method}.")
        return Route(kind=RouteKind.TOKEN if path == TOKEN_PATH else RouteKind.REVOKE)
    for (operation, pattern, _), use in _DEPRECATED_ROUTES:
        if operation.method == method and pattern.match(path):
            return Route(kind=RouteKind.DEPRECATED, detail=(
                f"{operation.operation_id} ({method} {operation.path}) is deprecated (sunset 2027-07-01) and not "
                f"simulated by the sandbox; use {use}."))
    allowed = []
    for operation, pattern, _ in _ROUTES:
        found = pattern.match(path)
        if found and operation.method == method:
            names = re.findall(r"\{([^/]+?)\}", operation.path)
            return Route(kind=RouteKind.API, operation=operation,
                         params={n: unquote(v) for n, v in zip(names, found.groups(), strict=True)})
        if found:
            allowed.append(operation.method)
    if allowed:
        return Route(kind=RouteKind.WRONG_METHOD, detail=f"{method} is not allowed on {path}; allowed: "
                     f"{', '.join(sorted(set(allowed)))}.")
    return Route(kind=RouteKind.UNKNOWN, detail=f"Cannot find resource {path}.")

"""Atlas JSON bodies read into the domain's values: org users, projects with tags, clusters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from access.model import DiscoveredCluster, DiscoveredProject, DiscoveredUser, MembershipStatus, Tag

MEMBER_STATUSES = frozenset({MembershipStatus.ACTIVE, MembershipStatus.PENDING})


def membership_status(value: Any) -> MembershipStatus:
    """`orgMembershipStatus`; a status newer than this code counts as PENDING (a member, but not yet active)."""
    try:
        return MembershipStatus(str(value))
    except ValueError:
        return MembershipStatus.PENDING


@dataclass(frozen=True, kw_only=True)
class OrgUser:
    """One entry of listOrgUsers (2025-02-19): org roles, and project roles from groupRoleAssignments."""

    id: str
    username: str
    status: MembershipStatus
    org_roles: frozenset[str] = frozenset()
    project_roles: dict[str, frozenset[str]] = field(default_factory=dict)
    team_ids: frozenset[str] = frozenset()

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> OrgUser:
        roles = body.get("roles") or {}
        assignments = roles.get("groupRoleAssignments") or []
        return cls(
            id=str(body["id"]),
            username=str(body.get("username", "")),
            status=membership_status(body.get("orgMembershipStatus")),
            org_roles=frozenset(roles.get("orgRoles") or ()),
            project_roles={str(a["groupId"]): frozenset(a.get("groupRoles") or ())
                           for a in assignments if a.get("groupRoles")},
            team_ids=frozenset(str(t) for t in body.get("teamIds") or ()),
        )

    @property
    def is_member(self) -> bool:
        """PENDING or ACTIVE: Atlas answers 409 to adding them again. EXPIRED/REJECTED entries may be replaced."""
        return self.status in MEMBER_STATUSES

    def in_project(self, group_id: str) -> bool:
        return self.is_member and bool(self.project_roles.get(group_id))

    def to_domain(self) -> DiscoveredUser:
        return DiscoveredUser(id=self.id, username=self.username, status=self.status, org_roles=self.org_roles,
                              project_roles=dict(self.project_roles), team_ids=self.team_ids)


def same_username(a: str, b: str) -> bool:
    """Atlas usernames are email addresses, which Atlas matches without regard to case."""
    return a.strip().casefold() == b.strip().casefold()


def tags_of(group: dict[str, Any]) -> tuple[Tag, ...]:
    return tuple(Tag(key=str(t["key"]), value=str(t.get("value", ""))) for t in group.get("tags") or ())


def cluster_of(body: dict[str, Any]) -> DiscoveredCluster:
    return DiscoveredCluster(name=str(body["name"]), state=str(body.get("stateName") or body.get("state") or ""))


def project_of(group: dict[str, Any], *, organization_id: str,
               clusters: tuple[DiscoveredCluster, ...]) -> DiscoveredProject:
    return DiscoveredProject(id=str(group["id"]), name=str(group["name"]),
                             organization_id=str(group.get("orgId") or organization_id),
                             tags=tags_of(group), clusters=clusters)

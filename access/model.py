"""Value types and states shared by every layer: ids, resource references, request and grant states."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, NewType

SlackUserId = NewType("SlackUserId", str)
AtlasUserId = NewType("AtlasUserId", str)
AtlasOrgId = NewType("AtlasOrgId", str)
AtlasGroupId = NewType("AtlasGroupId", str)


class ResourceKind(StrEnum):
    ORGANIZATION = "organization"
    PROJECT = "project"
    CLUSTER = "cluster"  # access is a temporary database user on it (see access.database_roles)
    TEAM = "team"  # access is membership of an Atlas team (and so the project roles the team holds)


class DiscoveryType(StrEnum):
    """What an integration discovers (the config's `discovery` list)."""

    ORGANIZATIONS = "organizations"
    PROJECTS = "projects"
    TEAMS = "teams"  # the organization's teams and the project roles each holds (with projects)


class MembershipStatus(StrEnum):
    """An Atlas org user's `orgMembershipStatus`."""

    ACTIVE = "ACTIVE"
    PENDING = "PENDING"
    INVITATION_EXPIRED = "INVITATION_EXPIRED"
    INVITATION_REJECTED = "INVITATION_REJECTED"


class RequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class GrantStatus(StrEnum):
    GRANTING = "granting"
    INVITED = "invited"
    ACTIVE = "active"
    REVOKING = "revoking"
    REVOKED = "revoked"
    FAILED = "failed"


# The states in which a grant's revocation is owed once its expiry has passed (an overdue revocation).
REVOCATION_OWED = (GrantStatus.ACTIVE, GrantStatus.REVOKING, GrantStatus.FAILED)


ORG_ROLES: tuple[str, ...] = (
    "ORG_OWNER",
    "ORG_GROUP_CREATOR",
    "ORG_BILLING_ADMIN",
    "ORG_BILLING_READ_ONLY",
    "ORG_STREAM_PROCESSING_ADMIN",
    "ORG_READ_ONLY",
    "ORG_MEMBER",
)
# What a team grant gives: membership of the team (its "role" in requests, grants and baselines).
TEAM_MEMBER = "TEAM_MEMBER"
# The spec no longer enumerates project roles: this list is data, and an admin may configure a new
# GROUP_* name (see access.config).
PROJECT_ROLES: tuple[str, ...] = (
    "GROUP_OWNER",
    "GROUP_READ_ONLY",
    "GROUP_CLUSTER_MANAGER",
    "GROUP_DATA_ACCESS_ADMIN",
    "GROUP_DATA_ACCESS_READ_WRITE",
    "GROUP_DATA_ACCESS_READ_ONLY",
    "GROUP_DATABASE_ACCESS_ADMIN",
    "GROUP_SEARCH_INDEX_EDITOR",
    "GROUP_STREAM_PROCESSING_OWNER",
    "GROUP_BACKUP_MANAGER",
    "GROUP_OBSERVABILITY_VIEWER",
)


@dataclass(frozen=True, kw_only=True)
class ResourceRef:
    """An Atlas organization, project or cluster that access is asked for."""

    kind: ResourceKind
    organization_id: str
    # the org id for an organization, the group (project) id for a project, `<group id>/<cluster name>` for a cluster,
    # the team id for a team
    atlas_id: str
    name: str


@dataclass(frozen=True, kw_only=True)
class Tag:
    key: str
    value: str


@dataclass(frozen=True, kw_only=True, slots=True)  # 100,000 of them in a big sync
class DiscoveredCluster:
    name: str
    state: str


@dataclass(frozen=True, kw_only=True, slots=True)  # 100,000 of them in a big sync
class DiscoveredProject:
    id: str
    name: str
    organization_id: str
    tags: tuple[Tag, ...] = ()
    clusters: tuple[DiscoveredCluster, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class DiscoveredTeam:
    """An Atlas team of the organization and the project roles it holds (listOrgTeams, listGroupTeams)."""

    id: str
    name: str
    project_roles: dict[str, frozenset[str]] = field(default_factory=dict)  # group id -> roles


@dataclass(frozen=True, kw_only=True, slots=True)  # 100,000 of them in a big sync
class DiscoveredUser:
    """An Atlas user as seen from the organization: its org roles and project roles."""

    id: str
    username: str
    status: MembershipStatus
    org_roles: frozenset[str] = frozenset()
    project_roles: dict[str, frozenset[str]] = field(default_factory=dict)  # group id -> roles
    team_ids: frozenset[str] = frozenset()  # the teams it is in (listOrgUsers' teamIds: no extra call)


@dataclass(frozen=True, kw_only=True)
class Inventory:
    """What one discovery of an integration's organization found."""

    organization_id: str
    organization_name: str
    projects: tuple[DiscoveredProject, ...] = ()
    users: tuple[DiscoveredUser, ...] = ()
    teams: tuple[DiscoveredTeam, ...] = ()


@dataclass(frozen=True, kw_only=True)
class GrantResult:
    """What the gateway did to give a user roles on a resource.

    `roles_before` is everything the user held on the resource before the call (empty if not a member);
    `added_roles` is what the call added; `added_user` says the user was not a member and was added
    (invited, for an organization or a non-member of the organization).
    """

    user_id: str
    status: MembershipStatus
    roles_before: frozenset[str]
    added_roles: frozenset[str]
    added_user: bool


@dataclass(frozen=True, kw_only=True)
class RevokeResult:
    """What the gateway did to take roles away: `removed_roles`, and whether it removed the user."""

    removed_roles: frozenset[str]
    removed_user: bool
    already_gone: bool = False


@dataclass(frozen=True, kw_only=True)
class UserAccess:
    """A user's current standing on one resource (None fields: not a member)."""

    user_id: str | None
    status: MembershipStatus | None
    roles: frozenset[str]


@dataclass(frozen=True, kw_only=True)
class GrantFigures:
    """What the grants say right now, for the metrics: counts by status (every status, zero included), and the
    revocations still owed a grace period after their expiry, with the oldest one's age."""

    by_status: dict[GrantStatus, int]
    overdue: int
    oldest_overdue_seconds: float

    @property
    def active(self) -> int:
        return self.by_status.get(GrantStatus.ACTIVE, 0)


CredentialType = Literal["api_key", "service_account"]
SHOWN_ORGANIZATIONS = 3  # how many of the organizations a credential sees a check names


@dataclass(frozen=True, kw_only=True)
class OrganizationSeen:
    id: str
    name: str


@dataclass(frozen=True, kw_only=True)
class CredentialCheckResult:
    """A credential that works, and whether it belongs to the organization it was checked against.

    `identity` is the API key's public key or the service account's client id (safe to show); `organization`
    is the one asked about as the credential sees it, None when the credential does not belong to it;
    `visible` the first organizations it does belong to (at most SHOWN_ORGANIZATIONS), to say which instead.
    """

    organization_id: str
    credential_type: CredentialType
    identity: str
    organization: OrganizationSeen | None
    visible: tuple[OrganizationSeen, ...] = ()

    @property
    def ok(self) -> bool:
        return self.organization is not None


@dataclass(frozen=True, kw_only=True)
class Parcel:
    """One outbox message taken for sending (see access.ports.Outbox); `attempts` counts this one, `rev` the
    puts on its key (a newer put makes the parcel's `sent` and `again` leave the row due)."""

    id: int
    key: str
    payload: dict[str, Any]  # the Slack call's JSON arguments
    attempts: int
    rev: int
    created_at: datetime


@dataclass(frozen=True, kw_only=True)
class AccessListEntry:
    """One entry of a project's IP access list: a CIDR block (`203.0.113.7/32` for one address)."""

    cidr: str
    comment: str = ""
    delete_after: datetime | None = None  # None: permanent


@dataclass(frozen=True, kw_only=True)
class HeldCredentials:
    """A temporary database user's sign-in, held (encrypted, see access.ports.CredentialVault) until its requester
    opens it once, for at most access.reveal.HOLD_FOR. Never stored in the clear, logged or audited.

    A SCRAM user's has a password; an Atlas-managed X.509 user's has the certificate instead: the PEM file Atlas
    made (certificate and private key)."""

    grant_id: int
    requester_id: str  # the only Slack user it is shown to
    username: str
    password: str | None = field(default=None, repr=False)
    certificate: str | None = field(default=None, repr=False)  # X.509: the PEM file, private key included
    # mongodb+srv://user@host/?authSource=admin, or for X.509 mongodb+srv://host/?authMechanism=MONGODB-X509&
    # authSource=%24external, when Atlas gave the host
    connection_string: str | None = None
    expires_at: datetime


def utc_iso(moment: datetime) -> str:
    """A timestamp as people and CSV files read it: ISO 8601 in UTC, seconds precision."""
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


# --- on call (see access.on_call) ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class OnCallShift:
    """One person on call in one schedule, as the provider reports it: `start`/`end` None for a permanent on-call."""

    schedule_id: str
    schedule_name: str
    email: str  # the provider's address for the person, matched to the requester's Slack email
    user_name: str = ""
    start: datetime | None = None
    end: datetime | None = None


class OnCallOutcome(StrEnum):
    ON_CALL = "on_call"  # approved at once
    NOT_ON_CALL = "not_on_call"  # waits for the owners
    UNAVAILABLE = "unavailable"  # the provider could not say: waits for the owners, and says so


@dataclass(frozen=True, kw_only=True)
class OnCallNote:
    """What the on-call check found when a request was made, kept on the request so its message can say it."""

    outcome: OnCallOutcome
    provider: str
    schedules: tuple[str, ...]  # the schedules the flow names
    schedule_id: str | None = None  # where the requester is on call
    schedule_name: str | None = None
    shift_start: datetime | None = None
    shift_end: datetime | None = None  # None while on call: a permanent on-call
    problem: str | None = None  # UNAVAILABLE: why, safe to show

    @property
    def approved(self) -> bool:
        return self.outcome is OnCallOutcome.ON_CALL


@dataclass(frozen=True, kw_only=True)
class ScheduleSeen:
    id: str
    name: str | None  # None: the provider knows no such schedule (or the key may not read it)


@dataclass(frozen=True, kw_only=True)
class OnCallCheckResult:
    """"Test connection" of an on-call provider: the key works, and what became of each schedule named."""

    provider: str
    schedules: tuple[ScheduleSeen, ...] = ()

    @property
    def ok(self) -> bool:
        return all(schedule.name is not None for schedule in self.schedules)

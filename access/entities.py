"""The stored things of the domain: access requests, grants, audit events, and inventory rows as the domain reads them.

Frozen dataclasses; a change is `dataclasses.replace(...)` and is saved with a compare-and-set on `version`.
Storage tables carry the same field names, so mapping is one line each way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from access.model import GrantStatus, MembershipStatus, OnCallNote, RequestStatus, ResourceKind, ResourceRef


@dataclass(frozen=True, kw_only=True)
class Approval:
    user_id: str
    at: datetime
    seconds: int | None = None  # "Approve for…": at most this long (None: for what was asked)
    reason: str | None = None  # the approver's reason, if they gave one
    step: int | None = None  # a multi-step approval: the step (from 0) this approval counted for


@dataclass(frozen=True, kw_only=True)
class StepRule:
    """One approval step as the request was made under it (see access.steps): its approvers (None: the resource's
    owners; else principals, resolved at each click) and how many of them must approve."""

    approvers: tuple[str, ...] | None
    required: int = 1


class _OnResource:
    """What requests and grants share: they are about one Atlas resource."""

    resource_kind: ResourceKind
    organization_id: str
    resource_id: str
    resource_name: str

    @property
    def resource(self) -> ResourceRef:
        return ResourceRef(
            kind=self.resource_kind,
            organization_id=self.organization_id,
            atlas_id=self.resource_id,
            name=self.resource_name,
        )


@dataclass(frozen=True, kw_only=True)
class AccessRequest(_OnResource):
    id: int | None = None
    requester_id: str  # Slack user id: the person the access is for (who asked, unless `requested_by` is set)
    requester_email: str
    integration: str  # integration name
    flow: str  # access flow name
    resource_kind: ResourceKind
    organization_id: str
    resource_id: str  # Atlas org id, group id, or `<group id>/<cluster name>`
    resource_name: str
    roles: tuple[str, ...]
    duration_seconds: int
    justification: str = ""
    status: RequestStatus = RequestStatus.PENDING
    approvers: tuple[str, ...] = ()  # Slack user ids allowed to decide: resolved at request time, again at each click
    approver_group: str | None = None  # the user group handle mentioned in the message, if any
    approvals_required: int = 1
    approvals: tuple[Approval, ...] = ()
    decided_by: str | None = None
    decided_at: datetime | None = None
    deny_reason: str | None = None
    channel: str | None = None  # where the approval message is
    message_ts: str | None = None
    break_glass: bool = False  # granted at once by a break-glass flow; the owners review it afterwards
    reviewed_by: str | None = None  # the owner who reviewed a break-glass grant
    reviewed_at: datetime | None = None
    extends_grant_id: int | None = None  # a request for more time on this grant (see access.selfservice)
    reminded_at: datetime | None = None  # undecided: its approvers were reminded (see access.timeouts)
    escalated_at: datetime | None = None  # undecided longer: the integration owners were asked
    # Once only (see access.once_only): the Slack view it was submitted from, so a replay finds it; and, while it
    # is pending, what it asks for (person, resource, roles; or the grant it extends), so it waits only once.
    submission_key: str | None = None
    pending_key: str | None = None
    outcome_note: str | None = None  # what became of an approved extension when the flow left less room than asked
    on_call: OnCallNote | None = None  # a flow with on-call auto-approval: what the check found (access.on_call)
    network_entry: str | None = None  # a cluster flow with network_access: the CIDR block asked for (access.network)
    database_auth: str | None = None  # a cluster flow's sign-in: "x509" (its flow's `auth`); None: a password
    requested_by: str | None = None  # asked on the requester's behalf by this admin or flow delegate
    approval_steps: tuple[StepRule, ...] = ()  # ordered steps, each waiting for the one before (access.steps)
    starts_at: datetime | None = None  # scheduled access: granted at this moment (None: as soon as approved)
    # Several resources in one request (see access.several): the items share `group_id`, each is an ordinary
    # request of its own; `group_part` numbers the approval message (one per owner group) listing it; `ends_at`
    # is the common end of all the items' access.
    group_id: str | None = None
    group_part: int | None = None
    ends_at: datetime | None = None
    group_told_at: datetime | None = None  # on a group's first item: when the requester was told every outcome
    created_at: datetime
    updated_at: datetime
    version: int = 0


@dataclass(frozen=True, kw_only=True)
class Grant(_OnResource):
    id: int | None = None
    request_id: int
    integration: str
    resource_kind: ResourceKind
    organization_id: str
    resource_id: str
    resource_name: str
    username: str  # Atlas username = the requester's Slack email
    requester_id: str
    roles: tuple[str, ...]  # what was asked for
    duration_seconds: int
    atlas_user_id: str | None = None
    baseline_roles: tuple[str, ...] = ()  # what the person held before any bot grant
    added_roles: tuple[str, ...] = ()  # what this grant added in Atlas
    added_user: bool = False  # this grant added the person to the resource (or invited them)
    database_user: str | None = None  # a cluster grant's temporary database user (its password is kept nowhere)
    status: GrantStatus = GrantStatus.GRANTING
    granted_at: datetime | None = None
    starts_at: datetime | None = None  # clock start: on grant, or when an invitation is accepted
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    lease_owner: str | None = None
    lease_until: datetime | None = None
    alerted: bool = False
    reminder_sent_at: datetime | None = None  # the expiry reminder was sent (cleared when an extension moves expiry)
    ended_by: str | None = None  # who ended it early ("I'm done"), so its revocation is not recorded as an expiry
    # When the baseline was taken, just before the grant's first change in Atlas; None: Atlas not changed yet.
    baseline_at: datetime | None = None
    # The IP access list entry (CIDR) the grant opens, and whether it put it there (None: not looked at yet; False:
    # it was there before, as someone's baseline, and is left alone at revocation).
    network_entry: str | None = None
    network_added: bool | None = None
    # How its database user signs in (the request's, kept so revocation deletes the right user): "x509" for an
    # Atlas-managed X.509 user on $external; None: a SCRAM user with a password on admin.
    database_auth: str | None = None
    ended_as: str | None = None  # "admin" or "owner": ended by someone else through Revoke now (access.revocation)
    end_reason: str | None = None  # the reason they gave, for the holder's DM and the approval message
    ends_at: datetime | None = None  # an item of a request of several resources: it ends then at the latest
    created_at: datetime
    updated_at: datetime
    version: int = 0


@dataclass(frozen=True, kw_only=True)
class AuditEvent:
    at: datetime
    actor: str  # Slack user id, "system", or "cli"
    action: str  # requested, refused, approved, denied, granted, invited, revoked, failed, config_applied, ...
    integration: str | None = None
    request_id: int | None = None
    grant_id: int | None = None
    detail: dict[str, object] = field(default_factory=dict)
    id: int | None = None


@dataclass(frozen=True, kw_only=True)
class TeamProject:
    """A project a team holds roles on, with the project's tags (whose owner tags name the team's owners)."""

    name: str
    roles: tuple[str, ...]
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class InventoryResource:
    """An organization, project or cluster in the synced inventory, as request forms and flows see it.

    A cluster's `atlas_id` is `<group id>/<cluster name>`, its `name` is `project/cluster`, and its `tags`
    are its project's (owner tags and flow tag filters apply to the clusters of a project).
    """

    integration: str
    kind: ResourceKind
    atlas_id: str
    organization_id: str
    organization_name: str
    name: str
    tags: dict[str, str] = field(default_factory=dict)
    present: bool = True
    team_projects: tuple[TeamProject, ...] = ()  # a team's projects and roles there, by project name

    @property
    def ref(self) -> ResourceRef:
        return ResourceRef(
            kind=self.kind, organization_id=self.organization_id, atlas_id=self.atlas_id, name=self.name
        )


@dataclass(frozen=True, kw_only=True)
class InventoryUser:
    integration: str
    atlas_id: str
    username: str
    status: MembershipStatus
    org_roles: tuple[str, ...] = ()
    project_roles: dict[str, tuple[str, ...]] = field(default_factory=dict)
    present: bool = True
    team_ids: tuple[str, ...] = ()  # the Atlas teams it is in (none known until a sync after they were read)


@dataclass(frozen=True, kw_only=True)
class SyncChanges:
    """What a sync changed, for people to read."""

    added_projects: tuple[str, ...] = ()
    removed_projects: tuple[str, ...] = ()
    added_clusters: tuple[str, ...] = ()  # "project/cluster"
    removed_clusters: tuple[str, ...] = ()
    added_users: tuple[str, ...] = ()
    removed_users: tuple[str, ...] = ()
    counts: dict[str, int] = field(default_factory=dict)  # organizations, projects, clusters, users

    @property
    def empty(self) -> bool:
        return not any(
            (
                self.added_projects,
                self.removed_projects,
                self.added_clusters,
                self.removed_clusters,
                self.added_users,
                self.removed_users,
            )
        )

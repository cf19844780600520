"""The SQLModel tables: configuration, inventory, requests, grants and the audit trail.

Column names mirror the fields of `access.entities` and `access.config`, so a row maps to an entity with
one line (`Grant(**row._mapping)`) and back (`values(grant)`); the column types in `storage.types` make
tuples, enums and UTC-aware datetimes survive the trip on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, Index, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from access.entities import Approval, StepRule
from access.model import GrantStatus, MembershipStatus, OnCallNote, RequestStatus, ResourceKind
from storage.types import Approvals, EnumText, OnCallNotes, RolesByProject, StepRules, StrTuple, UtcDateTime

NAME = String(64)
ATLAS_ID = String(64)
RESOURCE_ID = String(128)  # an org or group id, or `<group id>/<cluster name>` (cluster names run to 64)
SLACK_ID = String(32)
TEXT = String(512)


def _when(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_type=UtcDateTime, nullable=nullable, index=index)


# --- configuration -------------------------------------------------------------------------------------


class IntegrationRow(SQLModel, table=True):
    """An IntegrationSpec; `credential_secret` is Fernet ciphertext of the literal secret (NULL: from env)."""

    __tablename__ = "integration"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_type=NAME, unique=True)
    organization_id: str = Field(sa_type=ATLAS_ID)
    credential_type: str = Field(sa_type=String(32))
    credential_public: dict[str, str] = Field(sa_type=JSON)  # public key / client id, or env var names
    credential_secret: str | None = Field(default=None, sa_type=Text)
    discovery: tuple[str, ...] = Field(sa_type=StrTuple)
    approval_channel: str = Field(sa_type=SLACK_ID)
    credential_rotation_days: int | None = None
    custom_access_details: str | None = Field(default=None, sa_type=Text)
    integration_owners: tuple[str, ...] = Field(sa_type=StrTuple)
    resource_owner_tag_key: str | None = Field(default=None, sa_type=String(255))
    resource_owner_attribute: str | None = Field(default=None, sa_type=String(32))
    extra_project_roles: tuple[str, ...] = Field(sa_type=StrTuple)
    remove_unmanaged_roles: bool = False  # reconciliation removes roles nobody granted, not only reports them
    # The PagerDuty and Okta connections: their public part as JSON (NULL: none), their literal secret as Fernet
    # ciphertext (NULL: from the environment), as for the Atlas credentials.
    pagerduty: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    pagerduty_secret: str | None = Field(default=None, sa_type=Text)
    okta: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    okta_secret: str | None = Field(default=None, sa_type=Text)
    enabled: bool = True
    last_sync_at: datetime | None = _when()
    last_sync_error: str | None = Field(default=None, sa_type=Text)
    last_rotation_at: datetime | None = _when()
    last_rotation_error: str | None = Field(default=None, sa_type=Text)
    pending_retire_id: str | None = Field(default=None, sa_type=String(255))  # old credential left to delete
    created_at: datetime = _when(nullable=False)
    updated_at: datetime = _when(nullable=False)


class AccessFlowRow(SQLModel, table=True):
    """An AccessFlowSpec; `resources` is the selector as JSON, `max_duration_seconds` the duration."""

    __tablename__ = "access_flow"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_type=NAME, unique=True)
    integration: str = Field(sa_type=NAME, index=True)
    requesters: tuple[str, ...] = Field(sa_type=StrTuple)
    delegates: tuple[str, ...] | None = Field(default=None, sa_type=StrTuple)  # None: stored before delegates existed
    resources: dict[str, Any] = Field(sa_type=JSON)
    roles: tuple[str, ...] = Field(sa_type=StrTuple)
    max_duration_seconds: int
    approval: str = Field(sa_type=String(16))
    approvals_required: int
    justification: str = Field(sa_type=String(16))
    approval_reason: str | None = Field(default=None, sa_type=String(16))  # None: stored before it existed
    approval_steps: list[dict[str, Any]] | None = Field(default=None, sa_type=JSON)  # ApprovalStep list; None: none
    max_schedule_ahead: str | None = Field(default=None, sa_type=String(32))  # ISO 8601; None: the default (7 d)
    break_glass: bool = False
    pending: dict[str, Any] | None = Field(default=None, sa_type=JSON)  # PendingTimeouts; None: the defaults
    auto_approve: dict[str, Any] | None = Field(default=None, sa_type=JSON)  # AutoApprove (on call); None: none
    network_access: str | None = Field(default=None, sa_type=String(16))  # "requester_ip" (cluster flows)
    network_max_prefix: int | None = None  # the widest IPv4 block it opens; None: the default
    auth: str | None = Field(default=None, sa_type=String(16))  # "password" or "x509" (cluster flows); None: password
    bundles: list[dict[str, Any]] | None = Field(default=None, sa_type=JSON)  # Bundle list; None: none
    enabled: bool = True
    created_at: datetime = _when(nullable=False)
    updated_at: datetime = _when(nullable=False)


# --- inventory -----------------------------------------------------------------------------------------


class OrganizationRow(SQLModel, table=True):
    __tablename__ = "atlas_organization"
    __table_args__ = (UniqueConstraint("integration", "atlas_id", name="uq_atlas_organization_integration"),)

    id: int | None = Field(default=None, primary_key=True)
    integration: str = Field(sa_type=NAME)
    atlas_id: str = Field(sa_type=ATLAS_ID)
    name: str = Field(sa_type=TEXT)
    present: bool = True
    last_seen_at: datetime | None = _when()


class ProjectRow(SQLModel, table=True):
    __tablename__ = "atlas_project"
    __table_args__ = (UniqueConstraint("integration", "atlas_id", name="uq_atlas_project_integration"),)

    id: int | None = Field(default=None, primary_key=True)
    integration: str = Field(sa_type=NAME)
    atlas_id: str = Field(sa_type=ATLAS_ID)
    organization_id: str = Field(sa_type=ATLAS_ID)
    name: str = Field(sa_type=TEXT, index=True)
    tags: dict[str, str] = Field(sa_type=JSON)
    present: bool = True
    last_seen_at: datetime | None = _when()


class ClusterRow(SQLModel, table=True):
    __tablename__ = "atlas_cluster"
    __table_args__ = (
        UniqueConstraint("integration", "project_id", "name", name="uq_atlas_cluster_integration"),
    )

    id: int | None = Field(default=None, primary_key=True)
    integration: str = Field(sa_type=NAME)
    project_id: str = Field(sa_type=ATLAS_ID)
    name: str = Field(sa_type=TEXT)
    state: str = Field(sa_type=String(64))
    present: bool = True


class TeamRow(SQLModel, table=True):
    """An Atlas team (a requestable resource: membership) and the project roles it holds (group id -> roles)."""

    __tablename__ = "atlas_team"
    __table_args__ = (UniqueConstraint("integration", "atlas_id", name="uq_atlas_team_integration"),)

    id: int | None = Field(default=None, primary_key=True)
    integration: str = Field(sa_type=NAME)
    atlas_id: str = Field(sa_type=ATLAS_ID)
    organization_id: str = Field(sa_type=ATLAS_ID)
    name: str = Field(sa_type=TEXT, index=True)
    project_roles: dict[str, tuple[str, ...]] = Field(sa_type=RolesByProject)
    present: bool = True


class AtlasUserRow(SQLModel, table=True):
    __tablename__ = "atlas_user"
    __table_args__ = (UniqueConstraint("integration", "atlas_id", name="uq_atlas_user_integration"),)

    id: int | None = Field(default=None, primary_key=True)
    integration: str = Field(sa_type=NAME)
    atlas_id: str = Field(sa_type=ATLAS_ID)
    username: str = Field(sa_type=TEXT, index=True)
    status: MembershipStatus = Field(sa_type=EnumText(MembershipStatus))
    org_roles: tuple[str, ...] = Field(sa_type=StrTuple)
    project_roles: dict[str, tuple[str, ...]] = Field(sa_type=RolesByProject)
    present: bool = True
    team_ids: tuple[str, ...] | None = Field(default=None, sa_type=StrTuple)  # NULL: synced before teams were read


# --- requests, grants, audit ---------------------------------------------------------------------------


class AccessRequestRow(SQLModel, table=True):
    __tablename__ = "access_request"
    __table_args__ = (
        Index("ix_access_request_status_created_at", "status", "created_at"),
        # Once only (access.once_only): a replayed submission, or a second pending twin, cannot be inserted even
        # by two replicas at the same moment. NULLs (older rows, decided requests) never collide.
        Index("ix_access_request_submission_key", "submission_key", unique=True),
        Index("ix_access_request_pending_key", "pending_key", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    requester_id: str = Field(sa_type=SLACK_ID, index=True)
    requester_email: str = Field(sa_type=TEXT)
    integration: str = Field(sa_type=NAME)
    flow: str = Field(sa_type=NAME)
    resource_kind: ResourceKind = Field(sa_type=EnumText(ResourceKind, 16))
    organization_id: str = Field(sa_type=ATLAS_ID)
    resource_id: str = Field(sa_type=RESOURCE_ID)
    resource_name: str = Field(sa_type=TEXT)
    roles: tuple[str, ...] = Field(sa_type=StrTuple)
    duration_seconds: int
    justification: str = Field(sa_type=Text)
    status: RequestStatus = Field(sa_type=EnumText(RequestStatus, 16))
    approvers: tuple[str, ...] = Field(sa_type=StrTuple)
    approver_group: str | None = Field(default=None, sa_type=TEXT)
    approvals_required: int
    approvals: tuple[Approval, ...] = Field(sa_type=Approvals)
    decided_by: str | None = Field(default=None, sa_type=SLACK_ID)
    decided_at: datetime | None = _when()
    deny_reason: str | None = Field(default=None, sa_type=Text)
    channel: str | None = Field(default=None, sa_type=SLACK_ID)
    message_ts: str | None = Field(default=None, sa_type=SLACK_ID)
    break_glass: bool = False
    reviewed_by: str | None = Field(default=None, sa_type=SLACK_ID)
    reviewed_at: datetime | None = _when()
    extends_grant_id: int | None = None  # an extension: the grant whose expiry it moves (no FK: grant -> request)
    reminded_at: datetime | None = _when()  # approvers reminded of the undecided request (once)
    escalated_at: datetime | None = _when()  # integration owners asked to decide it (once)
    submission_key: str | None = Field(default=None, sa_type=String(64))  # the Slack view it was submitted from
    pending_key: str | None = Field(default=None, sa_type=String(64))  # what it asks for, while it is pending
    outcome_note: str | None = Field(default=None, sa_type=Text)  # an extension given less time than asked: why
    on_call: OnCallNote | None = Field(default=None, sa_type=OnCallNotes)  # what an on-call check found
    network_entry: str | None = Field(default=None, sa_type=String(64))  # the CIDR block asked for, if any
    database_auth: str | None = Field(default=None, sa_type=String(16))  # "x509", or None: a password
    requested_by: str | None = Field(default=None, sa_type=SLACK_ID)  # a delegate who asked for the requester
    approval_steps: tuple[StepRule, ...] = Field(default=(), sa_type=StepRules, nullable=True)  # steps; NULL: none
    starts_at: datetime | None = _when()  # scheduled access: when it is granted (NULL: once approved)
    # Several resources in one request: the members share `group_id`; `group_part` numbers the approval message
    # (one per owner group) the item is listed on; `ends_at` is the common end of every item's access.
    group_id: str | None = Field(default=None, sa_type=String(32), index=True)
    group_part: int | None = None
    ends_at: datetime | None = _when()
    group_told_at: datetime | None = _when()  # on the group's first item: the summary of outcomes was sent then
    created_at: datetime = _when(nullable=False)
    updated_at: datetime = _when(nullable=False)
    version: int


class GrantRow(SQLModel, table=True):
    __tablename__ = "grant"  # a reserved word: SQLAlchemy and Alembic quote it; raw SQL must too
    __table_args__ = (
        Index("ix_grant_status_expires_at", "status", "expires_at"),
        Index("ix_grant_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_grant_username_resource_id", "username", "resource_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # One grant per request: a replayed approval cannot start a second one.
    request_id: int = Field(foreign_key="access_request.id", unique=True)
    integration: str = Field(sa_type=NAME)
    resource_kind: ResourceKind = Field(sa_type=EnumText(ResourceKind, 16))
    organization_id: str = Field(sa_type=ATLAS_ID)
    resource_id: str = Field(sa_type=RESOURCE_ID)
    resource_name: str = Field(sa_type=TEXT)
    username: str = Field(sa_type=TEXT)
    requester_id: str = Field(sa_type=SLACK_ID, index=True)
    roles: tuple[str, ...] = Field(sa_type=StrTuple)
    duration_seconds: int
    atlas_user_id: str | None = Field(default=None, sa_type=ATLAS_ID)
    baseline_roles: tuple[str, ...] = Field(sa_type=StrTuple)
    added_roles: tuple[str, ...] = Field(sa_type=StrTuple)
    added_user: bool = False
    database_user: str | None = Field(default=None, sa_type=String(128))  # the name only, never a password
    status: GrantStatus = Field(sa_type=EnumText(GrantStatus, 16))
    granted_at: datetime | None = _when()
    starts_at: datetime | None = _when()
    expires_at: datetime | None = _when()
    revoked_at: datetime | None = _when()
    attempts: int = 0
    next_attempt_at: datetime | None = _when()
    last_error: str | None = Field(default=None, sa_type=Text)
    lease_owner: str | None = Field(default=None, sa_type=String(128))
    lease_until: datetime | None = _when()
    ends_at: datetime | None = _when()  # a request of several resources: no later than this, whenever activated
    alerted: bool = False
    reminder_sent_at: datetime | None = _when()  # the expiry reminder went out (sent once across replicas)
    ended_by: str | None = Field(default=None, sa_type=SLACK_ID)  # "I'm done": who ended it early
    baseline_at: datetime | None = _when()  # when the baseline was taken (NULL: nothing changed in Atlas yet)
    network_entry: str | None = Field(default=None, sa_type=String(64))  # the IP access list entry it opens
    network_added: bool | None = None  # it put the entry there (None: not looked at yet)
    database_auth: str | None = Field(default=None, sa_type=String(16))  # "x509", or None: a password
    ended_as: str | None = Field(default=None, sa_type=String(16))  # Revoke now: "admin" or "owner"
    end_reason: str | None = Field(default=None, sa_type=Text)  # Revoke now: the reason given
    created_at: datetime = _when(nullable=False)
    updated_at: datetime = _when(nullable=False)
    version: int


class AuditEventRow(SQLModel, table=True):
    __tablename__ = "audit_event"

    id: int | None = Field(
        default=None, primary_key=True, sa_type=BigInteger().with_variant(Integer, "sqlite")
    )
    at: datetime = _when(nullable=False, index=True)
    actor: str = Field(sa_type=TEXT)
    action: str = Field(sa_type=String(64))
    integration: str | None = Field(default=None, sa_type=NAME, index=True)
    request_id: int | None = Field(default=None, index=True)
    grant_id: int | None = None
    detail: dict[str, Any] = Field(sa_type=JSON)


# --- delivery ---------------------------------------------------------------------------------------------


class SlackOutboxRow(SQLModel, table=True):
    """A Slack message Slack refused through every retry, to send again (`storage.outbox`, `bot.slack.notifier`).

    `key` names what is sent: `update:<channel>:<ts>` (an approval message, rendered anew from the stored
    request when sent, so one row per message) or `dm:<uuid>` (a DM, whose text is in `payload`). `rev` counts
    the puts on one key, so a sender that rendered an older state does not delete a newer one's row.
    """

    __tablename__ = "slack_outbox"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_type=String(128), unique=True)
    payload: dict[str, Any] = Field(sa_type=JSON)
    attempts: int = 0
    rev: int = 1
    due_at: datetime = _when(nullable=False, index=True)
    created_at: datetime = _when(nullable=False)


class HeldCredentialsRow(SQLModel, table=True):
    """A temporary database user's sign-in until its requester opens it once (`storage.vault`): `secret` is
    Fernet ciphertext of the username, password and connection string; the row is deleted as it is read, when
    its user is deleted, or once past `expires_at` unread (its grant is then ended)."""

    __tablename__ = "held_credentials"

    grant_id: int = Field(primary_key=True, sa_type=BigInteger, sa_column_kwargs={"autoincrement": False})
    requester_id: str = Field(sa_type=SLACK_ID)
    secret: str = Field(sa_type=Text)
    expires_at: datetime = _when(nullable=False, index=True)
    created_at: datetime = _when(nullable=False)


class RoundAlertRow(SQLModel, table=True):
    """A failure of a timer round that the integration's owners were told of (`storage.alerts`, `access.rounds`):
    one row per round, integration and failure (`fingerprint`: a digest of its one-line description), deleted once
    that integration's work in the round goes through again."""

    __tablename__ = "round_alert"

    round_name: str = Field(primary_key=True, sa_type=String(64))
    integration: str = Field(primary_key=True, sa_type=String(64))
    fingerprint: str = Field(primary_key=True, sa_type=String(64))
    told_at: datetime = _when(nullable=False)


class RateBudgetRow(SQLModel, table=True):
    """A rate limit shared by the replicas (`storage.budgets`): a token bucket, its tokens as of `filled_at` (wall
    seconds since the epoch: Slack's limits run in real time, whatever clock the app is given)."""

    __tablename__ = "rate_budget"

    name: str = Field(primary_key=True, sa_type=String(64))
    tokens: float = Field(sa_type=Float, nullable=False)
    filled_at: float = Field(sa_type=Float, nullable=False)

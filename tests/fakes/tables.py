"""The memory store's tables: immutable rows in plain containers, copied (shallowly) for each transaction.

Rows are frozen dataclasses, so a transaction's copy of the containers is its own snapshot: changing a row
means putting a new one in, and nothing a caller holds can change what is stored. The normalising helpers give
back what a SQL column would (`storage.types`): UTC-aware datetimes, tuples of strings, JSON-shaped audit detail.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from access.bounds import STORED
from access.config import IntegrationSpec
from access.entities import AccessRequest, Approval, AuditEvent, Grant
from access.model import MembershipStatus
from storage.audit import scrub

E = TypeVar("E", AccessRequest, Grant)
_TUPLES = frozenset({"roles", "approvers", "baseline_roles", "added_roles"})


@dataclass(frozen=True, kw_only=True)
class IntegrationRow:
    spec: dict[str, Any]  # the spec as dumped (SecretStr kept), validated again on every read as storage does
    created_at: datetime
    updated_at: datetime
    last_sync_at: datetime | None = None
    last_sync_error: str | None = None
    last_rotation_at: datetime | None = None
    last_rotation_error: str | None = None
    pending_retire_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class FlowRow:
    data: dict[str, Any]  # model_dump(mode="json") less max_duration, plus max_duration_seconds (as stored)
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, kw_only=True)
class OrgRow:
    id: int
    integration: str
    atlas_id: str
    name: str
    present: bool = True


@dataclass(frozen=True, kw_only=True)
class ProjectRow:
    id: int
    integration: str
    atlas_id: str
    organization_id: str
    name: str
    tags: tuple[tuple[str, str], ...]
    present: bool = True


@dataclass(frozen=True, kw_only=True)
class ClusterRow:
    id: int
    integration: str
    project_id: str
    name: str
    state: str
    present: bool = True


@dataclass(frozen=True, kw_only=True)
class UserRow:
    id: int
    integration: str
    atlas_id: str
    username: str
    status: MembershipStatus
    org_roles: tuple[str, ...]
    project_roles: tuple[tuple[str, tuple[str, ...]], ...]
    present: bool = True
    team_ids: tuple[str, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class TeamRow:
    id: int
    integration: str
    atlas_id: str
    organization_id: str
    name: str
    project_roles: tuple[tuple[str, tuple[str, ...]], ...]
    present: bool = True


@dataclass(kw_only=True)
class Tables:
    requests: dict[int, AccessRequest] = field(default_factory=dict)
    grants: dict[int, Grant] = field(default_factory=dict)
    audit: list[AuditEvent] = field(default_factory=list)
    integrations: dict[str, IntegrationRow] = field(default_factory=dict)
    flows: dict[str, FlowRow] = field(default_factory=dict)
    orgs: dict[tuple[str, str], OrgRow] = field(default_factory=dict)  # (integration, atlas id)
    projects: dict[tuple[str, str], ProjectRow] = field(default_factory=dict)
    clusters: dict[tuple[str, str, str], ClusterRow] = field(default_factory=dict)  # (integration, group, name)
    users: dict[tuple[str, str], UserRow] = field(default_factory=dict)
    teams: dict[tuple[str, str], TeamRow] = field(default_factory=dict)  # (integration, atlas id)

    def copy(self) -> Tables:
        return Tables(requests=dict(self.requests), grants=dict(self.grants), audit=list(self.audit),
                      integrations=dict(self.integrations), flows=dict(self.flows), orgs=dict(self.orgs),
                      projects=dict(self.projects), clusters=dict(self.clusters), users=dict(self.users),
                      teams=dict(self.teams))


class Sequences:
    """Row ids, outside any transaction as PostgreSQL's sequences are: a rolled-back insert leaves a gap."""

    def __init__(self) -> None:
        self._counters: dict[str, itertools.count[int]] = {}

    def next(self, table: str) -> int:
        return next(self._counters.setdefault(table, itertools.count(1)))


def as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def stored(entity: E) -> E:
    """`entity` as a row would give it back: datetimes UTC-aware, role lists tuples of text, approvals in UTC."""
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(entity):
        value = getattr(entity, f.name)
        if isinstance(value, datetime):
            changes[f.name] = as_utc(value)
        elif f.name in _TUPLES:
            changes[f.name] = tuple(str(item) for item in value)
        elif f.name == "approvals":
            changes[f.name] = tuple(Approval(user_id=a.user_id, at=as_utc(a.at), seconds=a.seconds, reason=a.reason,
                                             step=a.step) for a in value)
    return dataclasses.replace(entity, **changes)


def stored_event(event: AuditEvent, *, event_id: int) -> AuditEvent:
    """The audit row as read back: secrets redacted (storage's own `scrub`), detail through JSON, at in UTC."""
    detail = json.loads(json.dumps(scrub(event.detail)))
    return dataclasses.replace(event, id=event_id, at=as_utc(event.at), detail=detail)


def spec_of(row: IntegrationRow) -> IntegrationSpec:
    return IntegrationSpec.model_validate(row.spec, context=STORED)

"""Entities and specs with sensible defaults for the storage tests, and a clock that moves only when told."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from access.config import AccessFlowSpec, IntegrationSpec
from access.entities import AccessRequest, Approval, Grant
from access.model import (
    DiscoveredCluster,
    DiscoveredProject,
    DiscoveredUser,
    GrantStatus,
    Inventory,
    MembershipStatus,
    RequestStatus,
    ResourceKind,
    Tag,
)

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
ORG_ID = "5f1a2b3c4d5e6f7a8b9c0d1e"


class Clock:
    def __init__(self, start: datetime = T0) -> None:
        self.moment = start

    def now(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> datetime:
        self.moment += timedelta(seconds=seconds)
        return self.moment


def request(**changes: Any) -> AccessRequest:
    values: dict[str, Any] = {
        "requester_id": "U0REQUESTER", "requester_email": "ada@example.com", "integration": "prod",
        "flow": "prod-projects", "resource_kind": ResourceKind.PROJECT, "organization_id": ORG_ID,
        "resource_id": "6a0000000000000000000001", "resource_name": "payments", "roles": ("GROUP_READ_ONLY",),
        "duration_seconds": 3600, "justification": "incident 42", "approvers": ("U0APPROVER", "U0OTHER"),
        "approver_group": "@payments-oncall", "created_at": T0, "updated_at": T0,
    }
    return AccessRequest(**{**values, **changes})


def grant(*, request_id: int, **changes: Any) -> Grant:
    values: dict[str, Any] = {
        "request_id": request_id, "integration": "prod", "resource_kind": ResourceKind.PROJECT,
        "organization_id": ORG_ID, "resource_id": "6a0000000000000000000001", "resource_name": "payments",
        "username": "ada@example.com", "requester_id": "U0REQUESTER", "roles": ("GROUP_READ_ONLY",),
        "duration_seconds": 3600, "created_at": T0, "updated_at": T0,
    }
    return Grant(**{**values, **changes})


def full_request() -> AccessRequest:
    """A request with every optional field set."""
    return request(
        status=RequestStatus.APPROVED,
        approvals=(Approval(user_id="U0APPROVER", at=T0 + timedelta(minutes=1), seconds=1800,
                            reason="half an hour is plenty"),
                   Approval(user_id="U0OTHER", at=T0 + timedelta(minutes=2))),
        approvals_required=2, decided_by="U0OTHER", decided_at=T0 + timedelta(minutes=2),
        deny_reason=None, channel="C0APPROVALS", message_ts="1767603600.000100", submission_key="V0SUBMITTED",
        outcome_note="It was approved for 2 hours instead of 4 hours.",
    )


def full_grant(request_id: int) -> Grant:
    return grant(
        request_id=request_id, atlas_user_id="6b0000000000000000000009",
        roles=("GROUP_READ_ONLY", "GROUP_DATA_ACCESS_READ_ONLY"), baseline_roles=("GROUP_READ_ONLY",),
        added_roles=("GROUP_DATA_ACCESS_READ_ONLY",), added_user=True, status=GrantStatus.ACTIVE,
        granted_at=T0, starts_at=T0, expires_at=T0 + timedelta(hours=1), attempts=2,
        next_attempt_at=T0 + timedelta(seconds=5), last_error="HTTP 503", lease_owner="host:1",
        lease_until=T0 + timedelta(seconds=60), alerted=True, ended_by="U0ADMIN", ended_as="admin",
        end_reason="INC-7: the laptop was stolen",
    )


def integration(name: str = "prod", **changes: Any) -> IntegrationSpec:
    values: dict[str, Any] = {
        "name": name, "organization_id": ORG_ID,
        "credentials": {"type": "api_key", "public_key": "pubkey01", "private_key": "PRIVATE-8c1f-secret"},
        "approval_channel": "C0APPROVALS", "integration_owners": ["@atlas-admins", "U0OWNER"],
    }
    return IntegrationSpec.model_validate({**values, **changes})


def flow(name: str = "prod-projects", **changes: Any) -> AccessFlowSpec:
    values: dict[str, Any] = {
        "name": name, "integration": "prod", "requesters": ["everyone"],
        "resources": {"types": ["project"], "names": ["pay*"], "tags": {"env": "prod"}},
        "roles": ["GROUP_READ_ONLY"], "max_duration": "8h",
    }
    return AccessFlowSpec.model_validate({**values, **changes})


def project(number: int, *, clusters: int = 1, name: str | None = None, **tags: str) -> DiscoveredProject:
    gid = f"6a{number:022d}"
    return DiscoveredProject(
        id=gid, name=name or f"project-{number}", organization_id=ORG_ID,
        tags=tuple(Tag(key=k, value=v) for k, v in tags.items()),
        clusters=tuple(DiscoveredCluster(name=f"cluster-{c}", state="IDLE") for c in range(clusters)),
    )


def user(number: int, *, projects: tuple[str, ...] = (), status: MembershipStatus = MembershipStatus.ACTIVE,
         ) -> DiscoveredUser:
    return DiscoveredUser(
        id=f"6b{number:022d}", username=f"user{number}@example.com", status=status,
        org_roles=frozenset({"ORG_MEMBER"}),
        project_roles={gid: frozenset({"GROUP_READ_ONLY", "GROUP_DATA_ACCESS_READ_ONLY"}) for gid in projects},
    )


def inventory(projects: tuple[DiscoveredProject, ...] = (), users: tuple[DiscoveredUser, ...] = (),
              org_name: str = "Acme") -> Inventory:
    return Inventory(organization_id=ORG_ID, organization_name=org_name, projects=projects, users=users)

"""Rules of self-service: who may end or extend a grant, the flow's bound on extensions, who a request waits for."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from access.config import AccessFlowSpec
from access.entities import AccessRequest, Approval, Grant
from access.errors import FieldErrors, NotAllowed
from access.model import GrantStatus, RequestStatus, ResourceKind
from access.selfservice import check_extension_bound, end_now, extension_request

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
GRANT = Grant(id=7, request_id=3, integration="prod", resource_kind=ResourceKind.PROJECT, organization_id="o",
              resource_id="g", resource_name="payments", username="ann@example.com", requester_id="U1",
              roles=("GROUP_READ_ONLY",), duration_seconds=3600, status=GrantStatus.ACTIVE, starts_at=T0,
              expires_at=T0 + timedelta(hours=1), created_at=T0, updated_at=T0)
REQUEST = AccessRequest(id=3, requester_id="U1", requester_email="ann@example.com", integration="prod",
                        flow="prod-projects", resource_kind=ResourceKind.PROJECT, organization_id="o",
                        resource_id="g", resource_name="payments", roles=("GROUP_READ_ONLY",), duration_seconds=3600,
                        approvers=("U2", "U3"), created_at=T0, updated_at=T0)
FLOW = AccessFlowSpec.model_validate({"name": "prod-projects", "integration": "prod", "roles": ["GROUP_READ_ONLY"],
                                      "resources": {"types": ["project"]}, "max_duration": "8h"})


@pytest.mark.parametrize(("status", "user", "ends"), [
    (GrantStatus.ACTIVE, "U1", True),
    (GrantStatus.INVITED, "U1", True),
    (GrantStatus.ACTIVE, "U2", False),  # not the holder
    (GrantStatus.GRANTING, "U1", False),  # left to finish first
    (GrantStatus.REVOKING, "U1", False),
    (GrantStatus.REVOKED, "U1", False),
])  # fmt: skip
def test_who_may_end_a_grant_and_when(status: GrantStatus, user: str, ends: bool) -> None:
    # given a grant in `status`; when `user` says "I'm done"; then it is revoking, due now, or refused
    now = T0 + timedelta(minutes=10)
    grant = replace(GRANT, status=status)
    if not ends:
        with pytest.raises(NotAllowed):
            end_now(grant, user_id=user, now=now)
        return
    ended = end_now(grant, user_id=user, now=now)
    assert ended.status is GrantStatus.REVOKING and ended.next_attempt_at == now and ended.expires_at == now


@pytest.mark.parametrize(("expires_after", "more", "allowed"), [
    (timedelta(hours=1), timedelta(hours=7), True),  # exactly the flow's 8h from the start
    (timedelta(hours=1), timedelta(hours=7, minutes=1), False),
    (timedelta(hours=6), timedelta(hours=2), True),  # after earlier extensions, what is left
    (timedelta(hours=6), timedelta(hours=4), False),
])  # fmt: skip
def test_extensions_are_bounded_from_the_original_start(expires_after: timedelta, more: timedelta,
                                                        allowed: bool) -> None:
    grant = replace(GRANT, expires_at=T0 + expires_after)
    if allowed:
        check_extension_bound(grant, FLOW, more)
    else:
        with pytest.raises(FieldErrors, match="8 hours in all"):
            check_extension_bound(grant, FLOW, more)


def test_an_extension_request_keeps_the_flow_and_approvers_and_starts_pending() -> None:
    decided = replace(REQUEST, status=RequestStatus.APPROVED, decided_by="U2", message_ts="1.2", version=4,
                      approvals=(Approval(user_id="U2", at=T0),))
    extension = extension_request(decided, GRANT, timedelta(hours=2), "still on it", T0)
    assert (extension.id, extension.status, extension.version, extension.approvals) == (
        None, RequestStatus.PENDING, 0, ())
    assert extension.approvers == ("U2", "U3") and extension.flow == "prod-projects"
    assert extension.extends_grant_id == 7 and extension.duration_seconds == 7200 and extension.message_ts is None

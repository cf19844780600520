"""Break-glass rules: how such a flow must be configured, when it is chosen, and who may review its grants."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from access import break_glass, policy
from access.admin import parse_document
from access.config import AccessFlowSpec
from access.entities import AccessRequest
from access.errors import AlreadyDecided, FieldErrors, NotAllowed
from access.model import RequestStatus, ResourceKind
from tests.access.test_config import VALID

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def with_flow(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(VALID)
    data["access_flows"][0].update({"name": "prod-break-glass", "break_glass": True, **changes})
    return data


def test_a_break_glass_flow_is_valid_and_off_by_default() -> None:
    assert parse_document(with_flow()).access_flows[0].break_glass is True
    assert parse_document(VALID).access_flows[0].break_glass is False


@pytest.mark.parametrize(("changes", "says"), [
    ({"approval": "auto"}, "set approval: owners"),
    ({"justification": "optional"}, "needs justification: required"),
])
def test_a_break_glass_flow_is_reviewed_and_explained(changes: dict[str, Any], says: str) -> None:
    with pytest.raises(FieldErrors) as raised:
        parse_document(with_flow(**changes))
    assert says in raised.value.errors["access_flows[0].break_glass"]


def spec(name: str, **changes: Any) -> AccessFlowSpec:
    return AccessFlowSpec.model_validate({"name": name, "integration": "prod", "resources": {"types": ["project"]},
                                          "roles": ["GROUP_OWNER", "GROUP_READ_ONLY"], "max_duration": "4h",
                                          **changes})


@pytest.mark.parametrize(("flows", "roles", "chosen"), [
    # a normal flow covering the request wins, even over an earlier-named break-glass one
    ([spec("a-glass", break_glass=True), spec("b-normal")], ["GROUP_READ_ONLY"], "b-normal"),
    # break-glass only when nothing else covers the roles
    ([spec("a-glass", break_glass=True), spec("b-read", roles=["GROUP_READ_ONLY"])], ["GROUP_OWNER"], "a-glass"),
    # or nothing else covers the duration
    ([spec("a-glass", break_glass=True, max_duration="8h"), spec("b-normal")], ["GROUP_READ_ONLY"], "a-glass"),
])
def test_break_glass_is_never_taken_by_accident(flows: list[AccessFlowSpec], roles: list[str], chosen: str) -> None:
    duration = timedelta(hours=6) if chosen == "a-glass" and roles == ["GROUP_READ_ONLY"] else timedelta(hours=1)
    assert policy.choose_flow(flows, roles, duration).name == chosen


def request(**changes: Any) -> AccessRequest:
    values: dict[str, Any] = {
        "id": 7, "requester_id": "U1", "requester_email": "ann@example.com", "integration": "prod",
        "flow": "prod-break-glass", "resource_kind": ResourceKind.PROJECT, "organization_id": "o", "resource_id": "g",
        "resource_name": "payments", "roles": ("GROUP_OWNER",), "duration_seconds": 3600, "approvers": ("U2", "U3"),
        "break_glass": True, "created_at": T0, "updated_at": T0,
    }
    return AccessRequest(**{**values, **changes})


def test_break_glass_approves_at_once_in_its_own_name() -> None:
    opened = break_glass.grant_at_once(request(), now=T0)
    assert opened.status is RequestStatus.APPROVED and opened.decided_by == "break_glass" and opened.decided_at == T0


@pytest.mark.parametrize(("given", "clicker", "refusal"), [
    (request(), "U2", None),
    (request(), "U1", NotAllowed),  # the person who broke the glass
    (request(), "U5", NotAllowed),  # not an owner
    (request(break_glass=False), "U2", NotAllowed),  # an ordinary request has nothing to review
    (request(reviewed_by="U3", reviewed_at=T0), "U2", AlreadyDecided),  # the first review counts
])
def test_who_may_review(given: AccessRequest, clicker: str, refusal: type[Exception] | None) -> None:
    later = T0 + timedelta(minutes=5)
    if refusal is None:
        reviewed = break_glass.review(given, user_id=clicker, now=later)
        assert (reviewed.reviewed_by, reviewed.reviewed_at) == (clicker, later)
    else:
        with pytest.raises(refusal):
            break_glass.review(given, user_id=clicker, now=later)

"""Break-glass rules: how such a flow must be configured, that it is chosen only when the requester ticks the
emergency box (and then only it), and who may review its grants."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from access import break_glass, policy
from access.admin import parse_document
from access.config import AccessFlowSpec
from access.entities import AccessRequest
from access.errors import AlreadyDecided, FieldErrors, NotAllowed, RequestRefused
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


ORDINARY_8H = spec("ordinary", max_duration="8h", roles=["GROUP_READ_ONLY"])
AUTO_2H = spec("auto", max_duration="2h", roles=["GROUP_READ_ONLY"], approval="auto", justification="optional")
GLASS_1D = spec("glass", break_glass=True, max_duration="1d")
GLASS_2H = spec("glass-short", break_glass=True, max_duration="2h")


@pytest.mark.parametrize(("flows", "roles", "hours", "emergency", "chosen"), [
    # an ordinary submit takes an ordinary flow, even where an earlier-named break-glass flow covers it too
    ([GLASS_1D, ORDINARY_8H], ["GROUP_READ_ONLY"], 1, False, "ordinary"),
    ([GLASS_1D, AUTO_2H, ORDINARY_8H], ["GROUP_READ_ONLY"], 1, False, "auto"),
    # a ticked box takes a break-glass flow, even where an ordinary (or auto-approved) flow covers the request
    ([GLASS_1D, ORDINARY_8H], ["GROUP_READ_ONLY"], 1, True, "glass"),
    ([AUTO_2H, GLASS_1D], ["GROUP_READ_ONLY"], 1, True, "glass"),
    ([GLASS_1D, ORDINARY_8H], ["GROUP_READ_ONLY"], 12, True, "glass"),
    ([GLASS_1D, ORDINARY_8H], ["GROUP_OWNER"], 1, True, "glass"),
    # among break-glass flows, one that covers the duration
    ([GLASS_2H, GLASS_1D], ["GROUP_READ_ONLY"], 12, True, "glass"),
    ([GLASS_2H, GLASS_1D], ["GROUP_READ_ONLY"], 1, True, "glass"),  # then by name
])
def test_the_flow_kind_follows_the_emergency_box(flows: list[AccessFlowSpec], roles: list[str], hours: int,
                                                 emergency: bool, chosen: str) -> None:
    flow = policy.choose_flow(flows, roles, timedelta(hours=hours), emergency=emergency)
    assert flow.name == chosen and flow.break_glass is emergency


@pytest.mark.parametrize(("flows", "roles", "hours", "emergency", "field", "says"), [
    # the reported case: 12h on an 8h ordinary flow is refused, with a word that an emergency grant exists
    ([ORDINARY_8H, GLASS_1D], ["GROUP_READ_ONLY"], 12, False, "duration",
     "The longest you may ask for is 8h. An emergency (break-glass) grant of up to 1d is available"),
    # no hint when the emergency flow is no longer than the ordinary one
    ([ORDINARY_8H, GLASS_2H], ["GROUP_READ_ONLY"], 12, False, "duration", "The longest you may ask for is 8h."),
    # roles only a break-glass flow offers
    ([ORDINARY_8H, GLASS_1D], ["GROUP_OWNER"], 1, False, None,
     "No access flow offers all of those roles on that resource together, except an emergency (break-glass)"),
    # only break-glass flows here: the box must be ticked
    ([GLASS_1D], ["GROUP_READ_ONLY"], 1, False, "emergency", "Only emergency (break-glass) access"),
    # a ticked box with no break-glass flow (a crafted payload: the modal shows no box then)
    ([ORDINARY_8H], ["GROUP_READ_ONLY"], 1, True, "emergency", "no emergency (break-glass) access"),
    # a ticked box past every break-glass flow's maximum
    ([ORDINARY_8H, GLASS_2H], ["GROUP_READ_ONLY"], 4, True, "duration",
     "The longest emergency (break-glass) grant is 2h."),
    # a ticked box for roles no break-glass flow offers
    ([spec("owner-8h", roles=["GROUP_OWNER"], max_duration="8h"), GLASS_1D.model_copy(
        update={"roles": ["GROUP_READ_ONLY"]})], ["GROUP_OWNER"], 1, True, None,
     "No emergency (break-glass) flow offers all of those roles"),
])
def test_refusals_never_fall_through_to_the_other_kind(flows: list[AccessFlowSpec], roles: list[str], hours: int,
                                                       emergency: bool, field: str | None, says: str) -> None:
    with pytest.raises((FieldErrors, RequestRefused)) as raised:
        policy.choose_flow(flows, roles, timedelta(hours=hours), emergency=emergency)
    if field is None:
        assert isinstance(raised.value, RequestRefused) and says in raised.value.reason
    else:
        assert isinstance(raised.value, FieldErrors) and says in raised.value.errors[field]


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


@pytest.mark.parametrize(("given", "now", "clicker", "refusal"), [
    (request(), ("U2", "U3"), "U2", None),
    (request(), ("U2", "U3", "U1"), "U1", NotAllowed),  # the person who broke the glass, whatever the owners
    (request(), ("U2", "U3"), "U5", NotAllowed),  # not an owner
    (request(), ("U3",), "U2", NotAllowed),  # an owner when the glass was broken, not any more
    (request(), ("U3", "U5"), "U5", None),  # an owner now, though not when the glass was broken
    (request(break_glass=False), ("U2",), "U2", NotAllowed),  # an ordinary request has nothing to review
    (request(reviewed_by="U3", reviewed_at=T0), ("U2",), "U2", AlreadyDecided),  # the first review counts
])
def test_who_may_review(given: AccessRequest, now: tuple[str, ...], clicker: str,
                        refusal: type[Exception] | None) -> None:
    later = T0 + timedelta(minutes=5)
    if refusal is None:
        reviewed = break_glass.review(given, user_id=clicker, now=later, reviewers=now)
        assert (reviewed.reviewed_by, reviewed.reviewed_at) == (clicker, later)
    else:
        with pytest.raises(refusal):
            break_glass.review(given, user_id=clicker, now=later, reviewers=now)

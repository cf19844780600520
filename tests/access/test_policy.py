"""Access rules as tables: who may ask for what, which flow applies, who approves."""

from __future__ import annotations

from datetime import timedelta

import pytest

from access.config import AccessFlowSpec, IntegrationSpec
from access.entities import InventoryResource
from access.errors import FieldErrors, RequestRefused
from access.model import ResourceKind
from access.policy import (
    Requester,
    approvers_now,
    check_justification,
    choose_flow,
    flows_for,
    principal_matches,
    resolve_approvers,
    roles_offered,
)
from tests.access.fakes import Directory

ANN = Requester(user_id="U0ANN", email="ann@example.com")
DIRECTORY = Directory(
    groups={"payments-oncall": {"U0BOB", "U0CAT"}, "S0PAY": {"U0BOB", "U0CAT"}, "solo": {"U0ANN"},
            "empty": set(), "atlas-admins": {"U0ADM", "U0ANN"}, "devs": {"U0ANN", "U0DAN"}},
    emails={"U0ADM": "adm@example.com"},
)


def integration(**changes: object) -> IntegrationSpec:
    base: dict[str, object] = {
        "name": "prod", "organization_id": "5f1a2b3c4d5e6f7a8b9c0d1e",
        "credentials": {"type": "api_key", "public_key_env": "P", "private_key_env": "K"},
        "approval_channel": "C0APPROVALS", "integration_owners": ["@atlas-admins"],
        "resource_owner": {"tag_key": "owner"},
    }
    base.update(changes)
    return IntegrationSpec.model_validate(base)


def flow(name: str = "f", **changes: object) -> AccessFlowSpec:
    base: dict[str, object] = {
        "name": name, "integration": "prod", "requesters": ["everyone"],
        "resources": {"types": ["project"]}, "roles": ["GROUP_READ_ONLY"], "max_duration": "8h",
    }
    base.update(changes)
    return AccessFlowSpec.model_validate(base)


def project(name: str = "payments", tags: dict[str, str] | None = None, kind: ResourceKind = ResourceKind.PROJECT,
            integration_name: str = "prod") -> InventoryResource:
    return InventoryResource(integration=integration_name, kind=kind, atlas_id="a" * 24, organization_id="b" * 24,
                             organization_name="Acme", name=name, tags=tags or {})


@pytest.mark.parametrize(("principal", "expected"), [
    ("everyone", True), ("U0ANN", True), ("U0BOB", False), ("ann@example.com", True), ("ANN@example.com", True),
    ("bob@example.com", False), ("@devs", True), ("@payments-oncall", False), ("S0PAY", False), ("@unknown", False),
])
def test_principal_matching(principal: str, expected: bool) -> None:
    assert principal_matches(principal, ANN, DIRECTORY) is expected


@pytest.mark.parametrize(("flow_changes", "resource", "allowed"), [
    ({}, project(), True),
    ({"requesters": ["@payments-oncall"]}, project(), False),
    ({"requesters": ["@devs"]}, project(), True),
    ({"resources": {"types": ["organization"]}}, project(), False),
    ({"resources": {"types": ["project"], "names": ["pay*"]}}, project(), True),
    ({"resources": {"types": ["project"], "names": ["billing-*"]}}, project(), False),
    ({"resources": {"types": ["project"], "tags": {"env": "prod"}}}, project(tags={"env": "prod"}), True),
    ({"resources": {"types": ["project"], "tags": {"env": "prod"}}}, project(tags={"env": "dev"}), False),
    ({"enabled": False}, project(), False),
    ({"integration": "other"}, project(), False),
])
def test_which_flows_let_a_person_ask(flow_changes: dict[str, object], resource: InventoryResource,
                                      allowed: bool) -> None:
    found = flows_for(flows=[flow(**flow_changes)], requester=ANN, resource=resource, directory=DIRECTORY)
    assert bool(found) is allowed


def test_roles_offered_fit_the_resource_kind_and_keep_order() -> None:
    flows = [flow("a", roles=["GROUP_READ_ONLY", "GROUP_OWNER"]),
             flow("b", roles=["GROUP_OWNER", "GROUP_DATA_ACCESS_READ_ONLY"])]
    assert roles_offered(flows, ResourceKind.PROJECT, integration()) == [
        "GROUP_READ_ONLY", "GROUP_OWNER", "GROUP_DATA_ACCESS_READ_ONLY"]


@pytest.mark.parametrize(("roles", "hours", "expected"), [
    (("GROUP_READ_ONLY",), 1, "auto-read"),
    (("GROUP_OWNER",), 1, "owners"),
    (("GROUP_READ_ONLY", "GROUP_OWNER"), 2, "owners"),
    (("GROUP_READ_ONLY",), 4, "owners"),
])
def test_the_chosen_flow_covers_all_roles_within_its_maximum(roles: tuple[str, ...], hours: int, expected: str) -> None:
    flows = [flow("owners", roles=["GROUP_READ_ONLY", "GROUP_OWNER"], max_duration="8h"),
             flow("auto-read", roles=["GROUP_READ_ONLY"], max_duration="2h", approval="auto")]
    assert choose_flow(flows, roles, timedelta(hours=hours), emergency=False).name == expected


@pytest.mark.parametrize(("roles", "hours", "error", "field"), [
    ((), 1, FieldErrors, "roles"),
    (("GROUP_CLUSTER_MANAGER",), 1, RequestRefused, None),
    (("GROUP_READ_ONLY",), 9, FieldErrors, "duration"),
])
def test_choose_flow_refusals(roles: tuple[str, ...], hours: int, error: type[Exception], field: str | None) -> None:
    with pytest.raises(error) as caught:
        choose_flow([flow(max_duration="8h")], roles, timedelta(hours=hours), emergency=False)
    if field:
        assert field in caught.value.errors  # type: ignore[attr-defined]


@pytest.mark.parametrize(("rule", "text", "ok"), [
    ("required", "Investigating INC-1234 payment failures", True),
    ("required", "x", False),
    ("required", "   \n\t  ", False),
    ("required", "a  b  c  d", False),
    ("optional", "", True),
])
def test_justification(rule: str, text: str, ok: bool) -> None:
    if ok:
        check_justification(flow(justification=rule), text)
    else:
        with pytest.raises(FieldErrors):
            check_justification(flow(justification=rule), text)


@pytest.mark.parametrize(("tags", "kind", "requester", "users", "group", "source"), [
    ({"owner": "payments-oncall"}, ResourceKind.PROJECT, ANN, ("U0BOB", "U0CAT"), "payments-oncall", "resource_owner"),
    ({"owner": "@payments-oncall"}, ResourceKind.PROJECT, ANN, ("U0BOB", "U0CAT"), "payments-oncall",
     "resource_owner"),
    ({}, ResourceKind.PROJECT, ANN, ("U0ADM",), None, "integration_owners"),
    ({"owner": "ghosts"}, ResourceKind.PROJECT, ANN, ("U0ADM",), None, "integration_owners"),
    ({"owner": "empty"}, ResourceKind.PROJECT, ANN, ("U0ADM",), None, "integration_owners"),
    ({"owner": "solo"}, ResourceKind.PROJECT, ANN, ("U0ADM",), None, "integration_owners"),
    ({"owner": "payments-oncall"}, ResourceKind.ORGANIZATION, ANN, ("U0ADM",), None, "integration_owners"),
    ({"owner": "payments-oncall"}, ResourceKind.PROJECT, Requester(user_id="U0BOB", email="b@x.io"), ("U0CAT",),
     "payments-oncall", "resource_owner"),
])
def test_approvers(tags: dict[str, str], kind: ResourceKind, requester: Requester, users: tuple[str, ...],
                   group: str | None, source: str) -> None:
    approvers = resolve_approvers(integration=integration(), resource=project(tags=tags, kind=kind),
                                  requester=requester, directory=DIRECTORY)
    assert (approvers.user_ids, approvers.group, approvers.source) == (users, group, source)


def test_integration_owners_by_email_and_user_id() -> None:
    spec = integration(integration_owners=["adm@example.com", "U0ZED"], resource_owner=None)
    approvers = resolve_approvers(integration=spec, resource=project(), requester=ANN, directory=DIRECTORY)
    assert approvers.user_ids == ("U0ADM", "U0ZED")


# --- approvers at click time ------------------------------------------------------------------------------
# The same rule runs when a decision is clicked, against the directory as it is then; each approver comes with
# the group or rule they qualify through (recorded in the audit row of their decision).

PAYMENTS = project(tags={"owner": "payments-oncall"})


@pytest.mark.parametrize(("groups", "owners", "resource", "requester", "expected"), [
    # the owner group as it is now: a member removed since the request is gone, a new one is in
    ({"payments-oncall": {"U0CAT", "U0EVE"}}, ["@atlas-admins"], PAYMENTS, ANN,
     {"U0CAT": "resource_owner:@payments-oncall", "U0EVE": "resource_owner:@payments-oncall"}),
    # the requester is never an approver, even when the group now holds them
    ({"payments-oncall": {"U0ANN", "U0CAT"}}, ["@atlas-admins"], PAYMENTS, ANN,
     {"U0CAT": "resource_owner:@payments-oncall"}),
    # the owner group emptied (or holding only the requester): the integration owners now
    ({"payments-oncall": set(), "atlas-admins": {"U0DAN"}}, ["@atlas-admins"], PAYMENTS, ANN,
     {"U0DAN": "integration_owners:@atlas-admins"}),
    ({"payments-oncall": {"U0ANN"}, "atlas-admins": {"U0DAN", "U0ANN"}}, ["@atlas-admins"], PAYMENTS, ANN,
     {"U0DAN": "integration_owners:@atlas-admins"}),
    # the owner group gone from Slack: the integration owners now
    ({"atlas-admins": {"U0DAN"}}, ["@atlas-admins"], PAYMENTS, ANN, {"U0DAN": "integration_owners:@atlas-admins"}),
    # an owner group does not add the integration owners: nobody qualifies through both
    ({"payments-oncall": {"U0CAT"}, "atlas-admins": {"U0CAT", "U0DAN"}}, ["@atlas-admins"], PAYMENTS, ANN,
     {"U0CAT": "resource_owner:@payments-oncall"}),
    # integration owners named several ways count once, through the first principal that names them
    ({"atlas-admins": {"U0ADM"}, "S0OPS": {"U0ADM", "U0OPS"}}, ["@atlas-admins", "S0OPS", "adm@example.com",
                                                                 "U0ADM", "U0ZED"], project(), ANN,
     {"U0ADM": "integration_owners:@atlas-admins", "U0OPS": "integration_owners:S0OPS",
      "U0ZED": "integration_owners:U0ZED"}),
    ({}, ["adm@example.com", "U0ANN"], project(), ANN, {"U0ADM": "integration_owners:adm@example.com"}),
    # nobody at all: nobody may decide
    ({}, ["@atlas-admins"], project(), ANN, {}),
    # the resource gone from the inventory: no owner tag to read, so the integration owners
    ({"payments-oncall": {"U0CAT"}, "atlas-admins": {"U0DAN"}}, ["@atlas-admins"], None, ANN,
     {"U0DAN": "integration_owners:@atlas-admins"}),
])
def test_approvers_at_click_time(groups: dict[str, set[str]], owners: list[str], resource: InventoryResource | None,
                                 requester: Requester, expected: dict[str, str]) -> None:
    directory = Directory(groups=groups, emails={"U0ADM": "adm@example.com"})
    spec = integration(integration_owners=owners)
    approvers = approvers_now(integration=spec, kind=ResourceKind.PROJECT, resource=resource,
                              requester_id=requester.user_id, directory=directory)
    assert dict(approvers.via) == expected
    assert approvers.user_ids == tuple(sorted(expected))  # each once, in a stable order

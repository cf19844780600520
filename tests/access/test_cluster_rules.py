"""Clusters in the domain: database roles, cluster flows in the config, and the policy rules that pick them."""

from __future__ import annotations

import copy
import re
from datetime import timedelta
from typing import Any

import pytest

from access import policy
from access.admin import parse_document
from access.config import AccessFlowSpec, IntegrationSpec, check_flow_against
from access.database_roles import (
    DatabaseRole,
    new_password,
    parse_database_role,
    split_cluster_id,
    temporary_username,
)
from access.entities import InventoryResource
from access.errors import FieldErrors
from access.model import ResourceKind
from tests.access.fakes import Directory
from tests.access.test_config import VALID

GROUP = "6a0000000000000000000001"


@pytest.mark.parametrize(("text", "role", "database"), [
    ("read@orders", "read", "orders"),
    ("readWrite@orders", "readWrite", "orders"),
    ("dbAdmin@sales-2026", "dbAdmin", "sales-2026"),
    ("readAnyDatabase", "readAnyDatabase", "admin"),
    ("readWriteAnyDatabase@admin", "readWriteAnyDatabase", "admin"),
    ("dbAdminAnyDatabase", "dbAdminAnyDatabase", "admin"),
])
def test_database_roles_parse(text: str, role: str, database: str) -> None:
    assert parse_database_role(text) == DatabaseRole(role_name=role, database_name=database)


@pytest.mark.parametrize(("text", "says"), [
    ("read", "name the database after @"),
    ("read@", "name the database after @"),
    ("read@or/ders", "name the database after @"), ("read@.ders", "name the database and collection"),
    ("read@a b", "name the database after @"),
    ("read@admin", "system database"),
    ("readWrite@local", "system database"),
    ("atlasAdmin", "is not a database role"),
    ("GROUP_READ_ONLY", "is not a database role"),
    ("readAnyDatabase@orders", "applies to every database"),
    ("Read@orders", "is not a database role"),
])
def test_what_is_not_a_database_role_says_why(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=re.escape(says)):
        parse_database_role(text)


def test_a_role_prints_as_it_is_written() -> None:
    assert [str(parse_database_role(t)) for t in ("read@orders", "readAnyDatabase@admin")] == [
        "read@orders", "readAnyDatabase"]


def test_cluster_ids_split_into_group_and_cluster() -> None:
    assert split_cluster_id(f"{GROUP}/orders-db") == (GROUP, "orders-db")
    for bad in (GROUP, f"{GROUP}/", "/orders-db", f"{GROUP}/-bad", f"{GROUP}/a/b"):
        with pytest.raises(ValueError):
            split_cluster_id(bad)


def test_usernames_name_the_person_and_grant_and_never_repeat() -> None:
    names = {temporary_username(email="Ann.Lee+ops@example.com", grant_id=42) for _ in range(50)}
    assert len(names) == 50
    assert all(re.fullmatch(r"ann-lee-ops-g42-[0-9a-f]{6}", name) for name in names)


def test_passwords_are_long_alphanumeric_and_fresh() -> None:
    passwords = {new_password() for _ in range(50)}
    assert len(passwords) == 50 and all(re.fullmatch(r"[A-Za-z0-9]{32}", p) for p in passwords)


# --- the config ---------------------------------------------------------------------------------------------


def cluster_flow(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(VALID)
    data["access_flows"] = [{
        "name": "orders-db", "integration": "prod", "resources": {"types": ["cluster"], "names": ["payments/*"]},
        "roles": ["read@orders", "readAnyDatabase"], "max_duration": "8h", **changes,
    }]
    return data


def errors_of(data: dict[str, Any]) -> dict[str, str]:
    """The field errors `config apply` would report (model rules, then the cross-object ones)."""
    try:
        document = parse_document(data)
    except FieldErrors as errors:
        return errors.errors
    integration = document.integrations[0]
    lines = [line for index, flow in enumerate(document.access_flows)
             for line in check_flow_against(flow, integration, f"access_flows[{index}]")]
    return dict(line.split(": ", 1) for line in lines)


def test_a_cluster_flow_is_valid() -> None:
    assert errors_of(cluster_flow()) == {}
    assert errors_of(cluster_flow(max_duration="7d")) == {}


@pytest.mark.parametrize(("changes", "field", "says"), [
    ({"roles": ["read@orders", "GROUP_READ_ONLY"]}, "access_flows[0].roles[1]", "is not a database role"),
    ({"roles": ["read"]}, "access_flows[0].roles[0]", "name the database"),
    ({"max_duration": "8d"}, "access_flows[0].max_duration", "within 7 days"),
    ({"resources": {"types": ["cluster", "project"]}}, "access_flows[0].resources.types", "a flow of their own"),
])
def test_cluster_flow_mistakes_name_the_field(changes: dict[str, Any], field: str, says: str) -> None:
    errors = errors_of(cluster_flow(**changes))
    assert field in errors and says in errors[field], errors


def test_clusters_need_an_integration_that_discovers_projects() -> None:
    data = cluster_flow()
    data["integrations"][0]["discovery"] = ["organizations"]
    data["integrations"][0].pop("resource_owner")
    assert "does not discover clusters" in errors_of(data)["access_flows[0].resources.types"]


def test_database_roles_are_not_project_roles() -> None:
    data = copy.deepcopy(VALID)
    data["access_flows"][0]["roles"] = ["read@orders"]
    assert "is not a known role for project" in errors_of(data)["access_flows[0].roles[0]"]


# --- the policy ---------------------------------------------------------------------------------------------


def cluster(name: str = "payments/orders-db", **tags: str) -> InventoryResource:
    return InventoryResource(integration="prod", kind=ResourceKind.CLUSTER, atlas_id=f"{GROUP}/{name.split('/')[1]}",
                             organization_id="5f1a2b3c4d5e6f7a8b9c0d1e", organization_name="Acme", name=name,
                             tags=tags)


def flow(names: list[str], **changes: Any) -> AccessFlowSpec:
    return AccessFlowSpec.model_validate({
        "name": "db", "integration": "prod", "resources": {"types": ["cluster"], "names": names},
        "roles": ["read@orders", "readWrite@orders"], "max_duration": "7d", **changes})


@pytest.mark.parametrize(("pattern", "matches"), [
    ("*", True), ("payments/*", True), ("orders-*", True), ("payments/orders-db", True), ("orders-db", True),
    ("search/*", False), ("payments", False), ("*/billing-*", False),
])
def test_cluster_name_patterns_match_the_path_or_the_bare_name(pattern: str, matches: bool) -> None:
    assert policy.resource_matches(flow([pattern]), cluster()) is matches


def test_a_cluster_flow_offers_its_database_roles() -> None:
    spec = IntegrationSpec.model_validate(VALID["integrations"][0])
    assert policy.roles_offered([flow(["*"])], ResourceKind.CLUSTER, spec) == ["read@orders", "readWrite@orders"]


@pytest.mark.parametrize(("duration", "refused"), [
    (timedelta(days=7), False), (timedelta(days=7, minutes=1), True), (timedelta(days=30), True),
])
def test_a_cluster_grant_longer_than_7_days_is_a_field_error(duration: timedelta, refused: bool) -> None:
    if refused:
        with pytest.raises(FieldErrors) as raised:
            policy.check_duration(duration, kind=ResourceKind.CLUSTER)
        assert "7 days" in raised.value.errors["duration"]
    else:
        policy.check_duration(duration, kind=ResourceKind.CLUSTER)
    policy.check_duration(timedelta(days=30), kind=ResourceKind.PROJECT)  # only clusters are bound by it


def test_the_owner_tag_of_a_clusters_project_names_its_approvers() -> None:
    spec = IntegrationSpec.model_validate(VALID["integrations"][0])
    directory = Directory(groups={"payments-oncall": {"U2", "U3"}, "atlas-admins": {"U4"}})
    approvers = policy.resolve_approvers(integration=spec, resource=cluster(owner="payments-oncall"),
                                         requester=policy.Requester(user_id="U1", email="ann@example.com"),
                                         directory=directory)
    assert approvers.user_ids == ("U2", "U3") and approvers.source == "resource_owner"


def test_a_cluster_flow_may_sign_in_with_x509_and_nothing_else_may() -> None:
    assert errors_of(cluster_flow(auth="x509")) == {}
    assert errors_of(cluster_flow(auth="password")) == {}
    assert flow(["*"]).auth == "password"  # the default
    assert any("auth" in where or "x509" in says for where, says in errors_of(cluster_flow(auth="kerberos")).items())
    project = copy.deepcopy(VALID)
    project["access_flows"][0]["auth"] = "x509"
    assert any("x509" in says for says in errors_of(project).values()), errors_of(project)

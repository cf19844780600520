"""Config validation: every rule of the config contract, as a table of (mutation, field named in the error)."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest

from access.admin import parse_document, redacted
from access.config import ConfigDocument, check_flow_against, format_duration, parse_duration
from access.errors import FieldErrors

VALID: dict[str, Any] = {
    "integrations": [{
        "name": "prod",
        "organization_id": "5f1a2b3c4d5e6f7a8b9c0d1e",
        "credentials": {"type": "api_key", "public_key_env": "ATLAS_PUBLIC_KEY",
                        "private_key_env": "ATLAS_PRIVATE_KEY"},
        "discovery": ["organizations", "projects"],
        "approval_channel": "C0APPROVALS",
        "credential_rotation_days": 30,
        "custom_access_details": "Sign in with SSO.",
        "integration_owners": ["@atlas-admins"],
        "resource_owner": {"tag_key": "owner", "attribute": "slack_usergroup"},
    }],
    "access_flows": [{
        "name": "prod-projects",
        "integration": "prod",
        "requesters": ["everyone"],
        "resources": {"types": ["project"], "names": ["*"], "tags": {}},
        "roles": ["GROUP_READ_ONLY", "GROUP_DATA_ACCESS_READ_ONLY"],
        "max_duration": "8h",
        "approval": "owners",
        "approvals_required": 1,
        "justification": "required",
    }],
}


def mutate(path: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(VALID)
    target: Any = data
    parts = path.split(".")
    for part in parts[:-1]:
        target = target[int(part)] if part.isdigit() else target[part]
    last = parts[-1]
    if value is DELETE:
        del target[last]
    else:
        target[last] = value
    return data


DELETE = object()


def test_the_contract_example_is_valid() -> None:
    document = parse_document(VALID)
    assert document.access_flows[0].max_duration == timedelta(hours=8)
    assert check_flow_against(document.access_flows[0], document.integrations[0], "f") == []


@pytest.mark.parametrize(("path", "value", "field"), [
    ("integrations.0.name", "prod env", "integrations[0].name"),
    ("integrations.0.name", "prød", "integrations[0].name"),
    ("integrations.0.name", "", "integrations[0].name"),
    ("integrations.0.organization_id", "5f1a2b3c4d5e6f7a8b9c0d1", "integrations[0].organization_id"),
    ("integrations.0.organization_id", "5f1a2b3c4d5e6f7a8b9c0d1z", "integrations[0].organization_id"),
    ("integrations.0.credential_rotation_days", 0, "integrations[0].credential_rotation_days"),
    ("integrations.0.credential_rotation_days", -3, "integrations[0].credential_rotation_days"),
    ("integrations.0.credential_rotation_days", 2.5, "integrations[0].credential_rotation_days"),
    ("integrations.0.credential_rotation_days", "monthly", "integrations[0].credential_rotation_days"),
    ("integrations.0.integration_owners", [], "integrations[0]"),
    ("integrations.0.integration_owners", ["not a principal"], "integrations[0].integration_owners"),
    ("integrations.0.discovery", ["organizations", "databases"], "integrations[0].discovery.1"),
    ("integrations.0.discovery", [], "integrations[0].discovery"),
    ("integrations.0.approval_channel", "#approvals", "integrations[0].approval_channel"),
    ("integrations.0.credentials", {"type": "password", "user": "x"}, "integrations[0].credentials"),
    ("integrations.0.credentials", {"type": "api_key", "public_key_env": "A"}, "integrations[0].credentials"),
    ("integrations.0.surprise", 1, "integrations[0].surprise"),
    ("integrations.0.remove_unmanaged_roles", "sometimes", "integrations[0].remove_unmanaged_roles"),
    ("integrations.0.remove_unmanaged_roles", None, "integrations[0].remove_unmanaged_roles"),
    ("access_flows.0.resources.types", ["database"], "access_flows[0].resources.types[0]"),
    ("access_flows.0.max_duration", "forever", "access_flows[0].max_duration"),
    ("access_flows.0.max_duration", "0m", "access_flows[0].max_duration"),
    ("access_flows.0.approval", "manager", "access_flows[0].approval"),
    ("access_flows.0.approvals_required", 0, "access_flows[0].approvals_required"),
    ("access_flows.0.justification", "sometimes", "access_flows[0].justification"),
    ("access_flows.0.requesters", ["#channel"], "access_flows[0].requesters"),
    ("access_flows.0.name", "a/b", "access_flows[0].name"),
])
def test_each_invalid_field_is_named(path: str, value: Any, field: str) -> None:
    with pytest.raises(FieldErrors) as caught:
        parse_document(mutate(path, value))
    named = " ".join(caught.value.errors)
    assert field.replace(".1", "[1]") in named or field in named, caught.value.errors


@pytest.mark.parametrize(("value", "removes"), [(DELETE, False), (False, False), (True, True)])
def test_an_integration_removes_unmanaged_roles_only_when_it_says_so(value: Any, removes: bool) -> None:
    data = VALID if value is DELETE else mutate("integrations.0.remove_unmanaged_roles", value)  # DELETE: left out
    document = parse_document(data)
    assert document.integrations[0].remove_unmanaged_roles is removes


def test_duplicate_names_are_refused() -> None:
    data = copy.deepcopy(VALID)
    data["integrations"].append(copy.deepcopy(data["integrations"][0]))
    with pytest.raises(FieldErrors) as caught:
        parse_document(data)
    assert "integrations[1].name" in str(caught.value)
    data = copy.deepcopy(VALID)
    data["access_flows"].append(copy.deepcopy(data["access_flows"][0]))
    with pytest.raises(FieldErrors) as caught:
        parse_document(data)
    assert "access_flows[1].name" in str(caught.value)


@pytest.mark.parametrize(("mutation", "expected"), [
    (("access_flows.0.integration", "staging"), "access_flows[0].integration: no integration named 'staging'"),
    (("access_flows.0.roles", ["GROUP_SUPERUSER"]), "access_flows[0].roles[0]: 'GROUP_SUPERUSER' is not a known role"),
    (("access_flows.0.roles", ["ORG_OWNER"]), "access_flows[0].roles[0]: 'ORG_OWNER' is not a known role for project"),
])
def test_cross_references_are_checked(mutation: tuple[str, Any], expected: str) -> None:
    document = parse_document(mutate(*mutation))
    known = {i.name: i for i in document.integrations}
    flow = document.access_flows[0]
    problems = check_flow_against(flow, known.get(flow.integration), "access_flows[0]")
    assert any(p.startswith(expected) for p in problems), problems


def test_an_admin_may_add_a_new_project_role_name() -> None:
    data = mutate("access_flows.0.roles", ["GROUP_SUPERUSER"])
    data["integrations"][0]["extra_project_roles"] = ["GROUP_SUPERUSER"]
    document = parse_document(data)
    assert check_flow_against(document.access_flows[0], document.integrations[0], "f") == []


def test_a_flow_for_a_type_the_integration_does_not_discover_is_refused() -> None:
    data = mutate("integrations.0.discovery", ["organizations"])
    document = parse_document(data)
    problems = check_flow_against(document.access_flows[0], document.integrations[0], "access_flows[0]")
    assert problems == ["access_flows[0].resources.types: integration 'prod' does not discover projects"]


@pytest.mark.parametrize(("text", "minutes"), [("30m", 30), ("8h", 480), ("1d", 1440), ("1h30m", 90), ("90", 90)])
def test_durations_parse_and_format_back(text: str, minutes: int) -> None:
    assert parse_duration(text) == timedelta(minutes=minutes)
    assert parse_duration(format_duration(timedelta(minutes=minutes))) == timedelta(minutes=minutes)


def test_literal_secrets_are_redacted_in_show() -> None:
    data = mutate("integrations.0.credentials", {"type": "service_account", "client_id": "mdb_sa_id_1",
                                                  "client_secret": "mdb_sa_sk_TOPSECRET"})
    shown = redacted(ConfigDocument.model_validate(data))
    assert "TOPSECRET" not in repr(shown)
    assert shown["integrations"][0]["credentials"]["client_secret"] == "<redacted>"
    assert shown["access_flows"][0]["max_duration"] == "8h"


def test_secret_values_never_echo_in_errors() -> None:
    data = mutate("integrations.0.credentials", {"type": "api_key", "public_key": "abcdefgh",
                                                  "private_key": "PRIVATE-123", "private_key_env": "X"})
    with pytest.raises(FieldErrors) as caught:
        parse_document(data)
    assert "PRIVATE-123" not in str(caught.value)


# --- every value is bounded -----------------------------------------------------------------------------------

OWNERS = [f"@team-{i}" for i in range(101)]


@pytest.mark.parametrize(("path", "value", "field", "says"), [
    ("integrations.0.credential_rotation_days", 366, "integrations[0].credential_rotation_days", "from 1 to 365"),
    ("integrations.0.credential_rotation_days", 10**20, "integrations[0].credential_rotation_days", "from 1 to 365"),
    ("integrations.0.credential_rotation_days", True, "integrations[0].credential_rotation_days", "from 1 to 365"),
    ("access_flows.0.max_duration", "9999999999d", "access_flows[0].max_duration", "longest allowed"),
    ("access_flows.0.max_duration", "9" * 20, "access_flows[0].max_duration", "longest allowed"),
    ("access_flows.0.max_duration", "9" * 5000, "access_flows[0].max_duration", "not a duration"),
    ("access_flows.0.max_duration", "366d", "access_flows[0].max_duration", "365d, the longest allowed"),
    ("access_flows.0.max_duration", "8760h1m", "access_flows[0].max_duration", "365d, the longest allowed"),
    ("access_flows.0.max_duration", "P400D", "access_flows[0].max_duration", "at most 365d"),
    ("access_flows.0.max_duration", "P9999999999D", "access_flows[0].max_duration", "too large"),
    ("access_flows.0.max_duration", "PT30S", "access_flows[0].max_duration", "at least 1 minute"),
    ("access_flows.0.max_duration", 10**20, "access_flows[0].max_duration", "a bare number has no unit"),
    ("access_flows.0.max_duration", True, "access_flows[0].max_duration", "a bare number has no unit"),
    ("access_flows.0.pending", {"expire_after": "9999999999d"}, "access_flows[0].pending.expire_after",
     "longest allowed"),
    ("access_flows.0.pending", {"remind_after": "0m"}, "access_flows[0].pending.remind_after", "at least 1 minute"),
    ("access_flows.0.pending", {"escalate_after": "P9999999999D"}, "access_flows[0].pending.escalate_after",
     "too large"),
    ("access_flows.0.approvals_required", 10**20, "access_flows[0].approvals_required", "10"),
    ("integrations.0.integration_owners", OWNERS, "integrations[0].integration_owners", "at most 100"),
    ("integrations.0.integration_owners", ["a" * 300 + "@example.com"], "integrations[0].integration_owners[0]",
     "at most 254"),
    ("access_flows.0.requesters", OWNERS, "access_flows[0].requesters", "at most 100"),
    ("access_flows.0.roles", ["GROUP_READ_ONLY"] * 51, "access_flows[0].roles", "at most 50"),
    ("access_flows.0.roles", ["r" * 129], "access_flows[0].roles[0]", "at most 128"),
    ("access_flows.0.resources.names", ["a" * 256], "access_flows[0].resources.names[0]", "at most 255"),
    ("access_flows.0.resources.names", ["*"] * 101, "access_flows[0].resources.names", "at most 100"),
    ("access_flows.0.resources.tags", {f"k{i}": "v" for i in range(51)}, "access_flows[0].resources.tags",
     "at most 50"),
    ("access_flows.0.resources.tags", {"env": "v" * 256}, "access_flows[0].resources.tags.env", "at most 255"),
    ("integrations.0.custom_access_details", "x" * 2001, "integrations[0].custom_access_details", "2000"),
    ("integrations.0.credentials", {"type": "api_key", "public_key": "k" * 201, "private_key_env": "B"},
     "integrations[0].credentials.public_key", "at most 200"),
    ("integrations.0.credentials", {"type": "api_key", "public_key": "k", "private_key": "s" * 501},
     "integrations[0].credentials.private_key", "at most 500"),
    ("integrations.0.credentials", {"type": "api_key", "public_key_env": "A" * 256, "private_key_env": "B"},
     "integrations[0].credentials.public_key_env", "at most 255"),
    ("integrations.0.approval_channel", "C" + "A" * 40, "integrations[0].approval_channel", "at most 32"),
    ("integrations.0.extra_project_roles", ["GROUP_" + "X" * 200], "integrations[0].extra_project_roles[0]",
     "at most 128"),
    ("integrations.0.extra_project_roles", [f"GROUP_X{i}" for i in range(51)], "integrations[0].extra_project_roles",
     "at most 50"),
])
def test_every_value_is_bounded_and_named_in_one_sentence(path: str, value: Any, field: str, says: str) -> None:
    # when a value past its limit is given, then the error names the field and says what is allowed, briefly
    with pytest.raises(FieldErrors) as caught:
        parse_document(mutate(path, value))
    errors = caught.value.errors
    assert field in errors, errors
    assert says in errors[field], errors
    assert all(len(message) < 200 and "\n" not in message for message in errors.values()), errors


def test_a_file_with_too_many_flows_is_refused() -> None:
    data = copy.deepcopy(VALID)
    data["access_flows"] = [{**VALID["access_flows"][0], "name": f"f{i}"} for i in range(2001)]
    with pytest.raises(FieldErrors) as caught:
        parse_document(data)
    assert "at most 2000" in caught.value.errors["access_flows"]


@pytest.mark.parametrize(("path", "value"), [
    ("integrations.0.credential_rotation_days", 365),
    ("integrations.0.credential_rotation_days", 1),
    ("access_flows.0.max_duration", "365d"),
    ("access_flows.0.max_duration", "8760h"),
    ("access_flows.0.max_duration", "1m"),
    ("access_flows.0.max_duration", "P30D"),
    ("access_flows.0.pending", {"remind_after": "1m", "escalate_after": "30d", "expire_after": "365d"}),
    ("integrations.0.integration_owners", OWNERS[:100]),
])
def test_the_limits_themselves_are_allowed(path: str, value: Any) -> None:
    parse_document(mutate(path, value))


@pytest.mark.parametrize(("text", "says"), [
    ("9" * 20, "longest allowed"),
    ("9999999999d", "longest allowed"),
    ("99999999999999999999h", "longest allowed"),
    ("9" * 5000, "not a duration"),
    ("366d", "longest allowed"),
    ("0m", "at least 1 minute"),
    ("0", "at least 1 minute"),
    ("²", "not a duration"),
    ("1w", "not a duration"),
])
def test_parse_duration_refuses_out_of_range_with_a_value_error(text: str, says: str) -> None:
    # the request modal's custom duration uses it too: a ValueError becomes a field error there, never a 500
    with pytest.raises(ValueError, match=says) as caught:
        parse_duration(text)
    assert len(str(caught.value)) < 120


def test_a_stored_spec_is_not_held_to_limits_added_after_it_was_stored() -> None:
    from access.bounds import STORED
    from access.config import AccessFlowSpec, IntegrationSpec

    integration = {**VALID["integrations"][0], "credential_rotation_days": 10**12, "integration_owners": OWNERS}
    assert IntegrationSpec.model_validate(integration, context=STORED).credential_rotation_days == 10**12
    flow = {**VALID["access_flows"][0], "max_duration": timedelta(days=400), "pending": {"expire_after": "P400D"}}
    assert AccessFlowSpec.model_validate(flow, context=STORED).max_duration == timedelta(days=400)
    with pytest.raises(ValueError, match="from 1 to 365"):  # and on input they are
        IntegrationSpec.model_validate(integration)
    with pytest.raises(ValueError, match="at least 1 minute"):  # what was never valid is not valid stored either
        AccessFlowSpec.model_validate({**flow, "max_duration": timedelta(0)}, context=STORED)


# --- team flows ---------------------------------------------------------------------------------------------


def team_document(**flow: Any) -> dict[str, Any]:
    data = copy.deepcopy(VALID)
    data["integrations"][0]["discovery"] = ["organizations", "projects", "teams"]
    data["access_flows"][0] = {"name": "prod-teams", "integration": "prod",
                               "resources": {"types": ["team"], "names": ["dba*"]}, "max_duration": "8h", **flow}
    return data


@pytest.mark.parametrize("roles", [DELETE, []])
def test_a_team_flow_gives_team_membership_without_naming_roles(roles: Any) -> None:
    data = team_document() if roles is DELETE else team_document(roles=roles)
    document = ConfigDocument.model_validate(data)
    assert document.access_flows[0].roles == ["TEAM_MEMBER"]
    assert check_flow_against(document.access_flows[0], document.integrations[0], "access_flows[0]") == []


@pytest.mark.parametrize(("data", "expected"), [
    (team_document(roles=["GROUP_OWNER"]), "is not a known role for team"),
    (team_document(resources={"types": ["team", "project"]}), "give teams a flow of their own"),
])
def test_team_flows_hold_teams_and_membership_only(data: dict[str, Any], expected: str) -> None:
    try:
        document = ConfigDocument.model_validate(data)
    except ValueError as error:
        assert expected in str(error)
        return
    problems = check_flow_against(document.access_flows[0], document.integrations[0], "access_flows[0]")
    assert any(expected in p for p in problems)


def test_teams_are_discovered_with_projects() -> None:
    data = team_document()
    data["integrations"][0]["discovery"] = ["organizations", "teams"]
    with pytest.raises(ValueError, match="teams are discovered with the projects"):
        ConfigDocument.model_validate(data)
    data["integrations"][0]["discovery"] = ["organizations", "projects"]
    document = ConfigDocument.model_validate(data)
    problems = check_flow_against(document.access_flows[0], document.integrations[0], "access_flows[0]")
    assert any("does not discover teams" in p for p in problems)

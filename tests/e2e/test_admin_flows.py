"""Stories: access flows in a modal and in YAML are two views of one model.

An admin adds and edits flows in the modal with the same validation as `config apply`; `config show` prints what
the modal saved, and a file applied afterwards is what the modal shows next.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from access.config import AccessFlowSpec
from bot.cli import main
from bot.slack.admin.form_views import RESOURCE_KINDS
from bot.slack_sim.payloads import state_values_for
from tests.e2e.admin_harness import IDA, AdminHarness, admin_world, view_text
from tests.e2e.harness import ANN, DAN, wait


@pytest.fixture
def world(tmp_path: Path) -> Iterator[AdminHarness]:
    with admin_world(tmp_path) as harness:
        yield harness


@pytest.fixture
def cli(world: AdminHarness, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    """`atlas-access ...` against the world's database, as the operator would run it beside the server."""
    monkeypatch.setenv("DATABASE_URL", world.database_url)
    key = world.settings.atlas_access_secret_key
    assert key is not None
    monkeypatch.setenv("ATLAS_ACCESS_SECRET_KEY", key.get_secret_value())

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def open_flow_modal(world: AdminHarness, name: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    home = world.open_admin()
    before = world.push_count()
    action, value = ("admin_edit_flow", name) if name else ("admin_add_flow", "new")
    assert world.slack.block_action(DAN, action, value, view=home).status_code == 200
    return home, world.pushed(DAN, "admin_flow", before)


def new_flow(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "admin_flow_name": "search-writers", "admin_flow_integration": "prod", "admin_flow_everyone": [],
        "admin_flow_requester_users": [IDA], "admin_flow_requester_groups": "@payments-oncall",
        "admin_flow_types": ["project"], "admin_flow_names": "search, pay*", "admin_flow_tags": "env=prod",
        "admin_flow_roles": ["GROUP_READ_ONLY", "GROUP_DATA_ACCESS_READ_WRITE"], "admin_flow_max_duration": "2h30m",
        "admin_flow_approval": "owners", "admin_flow_approvals_required": "2", "admin_flow_justification": "optional",
        "admin_flow_approval_reason": "required", "admin_flow_enabled": ["on"],
    }
    return values | changes


def submitted(world: AdminHarness, modal: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    response = world.slack.submit(DAN, modal, values)
    assert response.status_code == 200
    return response.json() if response.content else {}


def test_a_flow_added_in_the_modal_is_what_config_show_prints(world: AdminHarness, cli: Any) -> None:
    home, modal = open_flow_modal(world)

    # when dan fills in every field and saves
    assert submitted(world, modal, new_flow()) == {}

    # then the home says so, the change is audited, and `config show` prints the flow as entered
    world.home(home["id"], phrase="Saved access flow *search-writers*")
    assert [e.actor for e in world.audit("flow_saved")] == [DAN]
    code, out, _ = cli("config", "show")
    assert code == 0
    shown = next(f for f in yaml.safe_load(out)["access_flows"] if f["name"] == "search-writers")
    assert shown | {"break_glass": False} == {"break_glass": False,
        "name": "search-writers", "integration": "prod", "requesters": [IDA, "@payments-oncall"],
        "resources": {"types": ["project"], "names": ["search", "pay*"], "tags": {"env": "prod"}},
        "roles": ["GROUP_READ_ONLY", "GROUP_DATA_ACCESS_READ_WRITE"], "max_duration": "2h30m", "approval": "owners",
        "approvals_required": 2, "justification": "optional", "approval_reason": "required", "enabled": True,
    }
    assert "<redacted>" in out and world.atlas.private_key not in out


def test_a_file_applied_after_the_modal_is_what_the_modal_shows_next(world: AdminHarness, cli: Any,
                                                                      tmp_path: Path) -> None:
    # given the flows as `config show` prints them, with the playground flow changed in the file
    _, out, _ = cli("config", "show")
    document = yaml.safe_load(out)
    document["integrations"][0]["credentials"] = {"type": "api_key", "public_key_env": "ATLAS_PUBLIC_KEY",
                                                  "private_key_env": "ATLAS_PRIVATE_KEY"}
    playground = next(f for f in document["access_flows"] if f["name"] == "playground")
    playground.update(max_duration="3h", roles=["GROUP_READ_ONLY", "GROUP_OBSERVABILITY_VIEWER"],
                      requesters=["@payments-oncall"])
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")

    # when the operator applies it
    code, out, err = cli("config", "apply", str(path))
    assert code == 0, err

    # then the edit modal shows the file's values
    _, modal = open_flow_modal(world, "playground")
    inputs = {b["block_id"]: b["element"] for b in modal["blocks"] if b["type"] == "input"}
    assert inputs["admin_flow_max_duration"]["initial_value"] == "3h"
    assert [o["value"] for o in inputs["admin_flow_roles"]["initial_options"]] == [
        "GROUP_READ_ONLY", "GROUP_OBSERVABILITY_VIEWER"]
    assert inputs["admin_flow_requester_groups"]["initial_value"] == "@payments-oncall"
    assert "initial_options" not in inputs["admin_flow_everyone"]
    assert inputs["admin_flow_approval"]["initial_option"]["value"] == "auto"

    # and the integration edit modal says its credentials now come from the environment
    home = world.open_admin()
    before = world.push_count()
    world.slack.block_action(DAN, "admin_edit_integration", "prod", view=home)
    assert "Now read from $ATLAS_PUBLIC_KEY and $ATLAS_PRIVATE_KEY" in view_text(
        world.pushed(DAN, "admin_integration", before))


def test_editing_a_flow_changes_it_and_it_can_be_disabled_without_deleting_it(world: AdminHarness, cli: Any
                                                                              ) -> None:
    _, modal = open_flow_modal(world, "prod-projects")
    assert "Access flow *prod-projects*" in view_text(modal)

    # when dan shortens the longest duration and unticks "Enabled"
    assert submitted(world, modal, {"admin_flow_max_duration": "4h", "admin_flow_enabled": []}) == {}

    # then the flow is kept, disabled, with its other fields unchanged; nobody can ask through it
    _, out, _ = cli("config", "show")
    flow = next(f for f in yaml.safe_load(out)["access_flows"] if f["name"] == "prod-projects")
    assert flow["enabled"] is False and flow["max_duration"] == "4h"
    assert flow["resources"]["names"] == ["payments", "search", "ledger", "solo", "vault"]
    assert flow["roles"] == ["GROUP_READ_ONLY", "GROUP_DATA_ACCESS_READ_ONLY"]
    with world.runtime.store.unit_of_work() as uow:
        assert "prod-projects" not in [f.name for f in uow.flows.list(enabled_only=True)]


@pytest.mark.parametrize(("changes", "block", "words"), [
    ({"admin_flow_name": "has spaces"}, "admin_flow_name", "letters, digits, - and _"),
    ({"admin_flow_name": "playground"}, "admin_flow_name", "already exists"),
    ({"admin_flow_requester_users": [], "admin_flow_requester_groups": None}, "admin_flow_everyone", "Say who may ask"),
    ({"admin_flow_requester_groups": "@ghost-team"}, "admin_flow_requester_groups", "Slack knows no user group"),
    ({"admin_flow_requester_groups": "not/a/principal"}, "admin_flow_requester_groups", "is not a Slack @handle"),
    ({"admin_flow_types": []}, "admin_flow_types", "organization, project or cluster"),
    ({"admin_flow_tags": "env"}, "admin_flow_tags", "key=value"),
    ({"admin_flow_roles": []}, "admin_flow_roles", "at least one role"),
    ({"admin_flow_roles": ["ORG_OWNER"]}, "admin_flow_roles", "'ORG_OWNER' is not a known role for project"),
    ({"admin_flow_max_duration": "8 parsecs"}, "admin_flow_max_duration", "is not a duration like"),
    ({"admin_flow_max_duration": None}, "admin_flow_max_duration", "How long at most"),
    ({"admin_flow_approvals_required": "0"}, "admin_flow_approvals_required", "from 1 to 10"),
    ({"admin_flow_approvals_required": "11"}, "admin_flow_approvals_required", "from 1 to 10"),
    ({"admin_flow_approvals_required": "two"}, "admin_flow_approvals_required", "from 1 to 10"),
])
def test_each_field_is_validated_as_config_apply_validates_it(world: AdminHarness, changes: dict[str, Any],
                                                              block: str, words: str) -> None:
    _, modal = open_flow_modal(world)
    answer = submitted(world, modal, new_flow(**changes))
    assert answer["response_action"] == "errors"
    assert block in answer["errors"] and words in answer["errors"][block], answer
    with world.runtime.store.unit_of_work() as uow:
        assert uow.flows.get("search-writers") is None


def test_a_flow_for_resources_its_integration_does_not_discover_is_refused(world: AdminHarness) -> None:
    # given prod discovers projects only
    with world.runtime.store.unit_of_work() as uow:
        spec = uow.integrations.get("prod")
        assert spec is not None
        uow.integrations.upsert(spec.model_copy(update={"discovery": ["projects"]}))
    _, modal = open_flow_modal(world)
    answer = submitted(world, modal, new_flow(admin_flow_types=["organization"], admin_flow_roles=["ORG_READ_ONLY"]))
    assert "does not discover organizations" in answer["errors"]["admin_flow_types"]


def test_a_flow_saved_in_the_modal_is_used_for_requests(world: AdminHarness) -> None:
    _, modal = open_flow_modal(world)
    assert submitted(world, modal, new_flow(admin_flow_everyone=["everyone"], admin_flow_tags=None,
                                            admin_flow_names="search", admin_flow_approvals_required="1",
                                            admin_flow_approval_reason="optional")) == {}
    request = world.request(ANN, "search", ["GROUP_DATA_ACCESS_READ_WRITE"], duration="1h")
    assert request.flow == "search-writers" and request.approvers == (DAN,)
    world.slack.block_action(DAN, "approve", str(request.id), message=(request.channel, request.message_ts))
    wait(lambda: world.project_roles("search", ANN) == {"GROUP_DATA_ACCESS_READ_WRITE"})


# --- settings of newer flows: clusters (database roles) and break glass ---------------------------------------------

needs_clusters = pytest.mark.skipif(
    "cluster" not in RESOURCE_KINDS or "break_glass" not in AccessFlowSpec.model_fields,
    reason="cluster flows and break glass are not in this version")


@needs_clusters
def test_a_break_glass_flow_for_clusters_with_typed_database_roles(world: AdminHarness, cli: Any) -> None:
    _, modal = open_flow_modal(world)
    values = new_flow(admin_flow_name="db-emergency", admin_flow_types=["cluster"], admin_flow_names="payments/*",
                      admin_flow_tags=None, admin_flow_roles=[],
                      admin_flow_other_roles="read@orders, readAnyDatabase",
                      admin_flow_max_duration="1d", admin_flow_approvals_required="1",
                      admin_flow_justification="required", admin_flow_break_glass=["on"])
    assert submitted(world, modal, values) == {}
    _, out, _ = cli("config", "show")
    shown = next(f for f in yaml.safe_load(out)["access_flows"] if f["name"] == "db-emergency")
    assert shown["roles"] == ["read@orders", "readAnyDatabase"] and shown["break_glass"] is True
    assert shown["resources"]["types"] == ["cluster"]

    # and editing shows the typed roles in their field, and break glass ticked
    _, modal = open_flow_modal(world, "db-emergency")
    inputs = {b["block_id"]: b["element"] for b in modal["blocks"] if b["type"] == "input"}
    assert inputs["admin_flow_other_roles"]["initial_value"] == "read@orders, readAnyDatabase"
    assert "initial_options" not in inputs["admin_flow_roles"]
    assert inputs["admin_flow_break_glass"]["initial_options"][0]["value"] == "on"


@needs_clusters
@pytest.mark.parametrize(("changes", "block", "words"), [
    ({"admin_flow_other_roles": "read@orders, write@orders"}, "admin_flow_other_roles", "is not a database role"),
    ({"admin_flow_max_duration": "8d"}, "admin_flow_max_duration", "within 7 days"),
    ({"admin_flow_approval": "auto"}, "admin_flow_break_glass", "set approval: owners"),
])
def test_cluster_and_break_glass_rules_are_field_errors(world: AdminHarness, changes: dict[str, Any], block: str,
                                                        words: str) -> None:
    _, modal = open_flow_modal(world)
    values = new_flow(admin_flow_types=["cluster"], admin_flow_names="*", admin_flow_tags=None, admin_flow_roles=[],
                      admin_flow_other_roles="read@orders", admin_flow_break_glass=["on"],
                      admin_flow_justification="required") | changes
    answer = submitted(world, modal, values)
    assert block in answer["errors"] and words in answer["errors"][block], answer


# --- a network path that expires: network_access and network_max_prefix --------------------------------------------

needs_network = pytest.mark.skipif("network_access" not in AccessFlowSpec.model_fields,
                                   reason="network access is not in this version")


def cluster_flow(**changes: Any) -> dict[str, Any]:
    return new_flow(admin_flow_name="db-readers", admin_flow_everyone=["everyone"], admin_flow_types=["cluster"],
                    admin_flow_names="payments/*", admin_flow_tags=None, admin_flow_roles=[],
                    admin_flow_other_roles="read@orders.payments", admin_flow_max_duration="1d",
                    admin_flow_approvals_required="1", admin_flow_justification="required",
                    admin_flow_network_access="requester_ip", admin_flow_network_max_prefix="28") | changes


def shown_flow(cli: Any, name: str) -> dict[str, Any]:
    code, out, _ = cli("config", "show")
    assert code == 0
    return dict(next(f for f in yaml.safe_load(out)["access_flows"] if f["name"] == name))


@needs_network
def test_a_cluster_flow_that_opens_the_requester_s_ip_is_set_in_the_modal(world: AdminHarness, cli: Any) -> None:
    # when dan saves a cluster flow asking for the requester's IP address, at most a /28
    _, modal = open_flow_modal(world)
    assert {"admin_flow_network_access", "admin_flow_network_max_prefix"} <= {
        b.get("block_id") for b in modal["blocks"]}
    assert submitted(world, modal, cluster_flow()) == {}

    # then `config show` prints both settings, and the edit modal shows them
    shown = shown_flow(cli, "db-readers")
    assert (shown["network_access"], shown["network_max_prefix"]) == ("requester_ip", 28)
    _, modal = open_flow_modal(world, "db-readers")
    inputs = {b["block_id"]: b["element"] for b in modal["blocks"] if b["type"] == "input"}
    assert inputs["admin_flow_network_access"]["initial_option"]["value"] == "requester_ip"
    assert inputs["admin_flow_network_max_prefix"]["initial_value"] == "28"

    # and ann's request modal asks for her address, refusing a block wider than the flow's /28
    world.runtime.sync.run("prod")
    form = world.pick(ANN, world.open_modal(ANN), "payments/payments-main")
    assert any(b.get("block_id") == "network" for b in form["blocks"])
    answer = world.slack.submit(ANN, form, {"roles": ["read@orders.payments"], "duration": "1h",
                                            "duration_custom": None, "justification": "INC-1: read the payments",
                                            "network": "34.120.5.0/24"})
    assert "/24 is too wide: at most a /28" in answer.json()["errors"]["network"]

    # when an edit gives a bad prefix, nothing changes
    answer = submitted(world, modal, {"admin_flow_network_max_prefix": "8"})
    assert "from 16 to 32" in answer["errors"]["admin_flow_network_max_prefix"]
    assert shown_flow(cli, "db-readers")["network_max_prefix"] == 28

    # when dan turns the network path off, the flow no longer opens one and `config show` drops both settings
    assert submitted(world, modal, {"admin_flow_network_access": "none",
                                    "admin_flow_network_max_prefix": None}) == {}
    shown = shown_flow(cli, "db-readers")
    assert "network_access" not in shown and "network_max_prefix" not in shown
    with world.runtime.store.unit_of_work() as uow:
        flow = uow.flows.get("db-readers")
        assert flow is not None and flow.network_access is None and flow.network_max_prefix == 24


@needs_network
@pytest.mark.parametrize(("changes", "block", "words"), [
    ({"admin_flow_network_max_prefix": "8"}, "admin_flow_network_max_prefix", "from 16 to 32"),
    ({"admin_flow_network_max_prefix": "33"}, "admin_flow_network_max_prefix", "from 16 to 32"),
    ({"admin_flow_network_max_prefix": "/2x"}, "admin_flow_network_max_prefix", "from 16 to 32"),
    ({"admin_flow_network_max_prefix": "²⁴"}, "admin_flow_network_max_prefix", "from 16 to 32"),
    ({"admin_flow_types": ["project"], "admin_flow_names": "payments", "admin_flow_roles": ["GROUP_READ_ONLY"],
      "admin_flow_other_roles": None}, "admin_flow_network_access", "pick Clusters"),
    ({"admin_flow_types": ["cluster", "project"]}, "admin_flow_network_access", "pick Clusters"),
])
def test_bad_network_settings_are_field_errors_and_save_nothing(world: AdminHarness, changes: dict[str, Any],
                                                                block: str, words: str) -> None:
    _, modal = open_flow_modal(world)
    answer = submitted(world, modal, cluster_flow(**changes))
    assert answer["response_action"] == "errors"
    assert block in answer["errors"] and words in answer["errors"][block], answer
    assert "admin_flow_name" not in answer["errors"]
    with world.runtime.store.unit_of_work() as uow:
        assert uow.flows.get("db-readers") is None


@needs_network
def test_a_forged_network_choice_is_a_field_error(world: AdminHarness) -> None:
    # given a submission whose radio button holds a value the modal never offered (only a forged payload can)
    _, modal = open_flow_modal(world)
    state = state_values_for(modal, cluster_flow())
    state["admin_flow_network_access"]["admin_flow_network_access"]["selected_option"] = {
        "text": {"type": "plain_text", "text": "everywhere"}, "value": "everywhere"}
    answer = world.slack.view_submission(DAN, modal, state).json()
    assert "Pick none" in answer["errors"]["admin_flow_network_access"]
    with world.runtime.store.unit_of_work() as uow:
        assert uow.flows.get("db-readers") is None


# --- X.509 sign-in: auth -----------------------------------------------------------------------------------------


def test_a_cluster_flow_signing_in_with_x509_is_set_in_the_modal(world: AdminHarness, cli: Any) -> None:
    # when dan saves a cluster flow whose users sign in with an X.509 certificate
    _, modal = open_flow_modal(world)
    assert "admin_flow_auth" in {b.get("block_id") for b in modal["blocks"]}
    assert submitted(world, modal, cluster_flow(admin_flow_auth="x509")) == {}

    # then `config show` prints it, the store has it, and the edit modal shows it
    assert shown_flow(cli, "db-readers")["auth"] == "x509"
    with world.runtime.store.unit_of_work() as uow:
        flow = uow.flows.get("db-readers")
        assert flow is not None and flow.auth == "x509"
    _, modal = open_flow_modal(world, "db-readers")
    inputs = {b["block_id"]: b["element"] for b in modal["blocks"] if b["type"] == "input"}
    assert inputs["admin_flow_auth"]["initial_option"]["value"] == "x509"

    # when dan goes back to passwords, `config show` leaves the default out
    assert submitted(world, modal, {"admin_flow_auth": "password"}) == {}
    assert "auth" not in shown_flow(cli, "db-readers")


@pytest.mark.parametrize("changes", [
    {"admin_flow_types": ["project"], "admin_flow_names": "payments", "admin_flow_roles": ["GROUP_READ_ONLY"],
     "admin_flow_other_roles": None, "admin_flow_network_access": "none"},
    {"admin_flow_types": ["cluster", "project"], "admin_flow_network_access": "none"},
])
def test_x509_on_a_flow_not_only_of_clusters_is_a_field_error(world: AdminHarness, changes: dict[str, Any]) -> None:
    _, modal = open_flow_modal(world)
    answer = submitted(world, modal, cluster_flow(admin_flow_auth="x509", **changes))
    assert "pick Clusters" in answer["errors"]["admin_flow_auth"], answer
    with world.runtime.store.unit_of_work() as uow:
        assert uow.flows.get("db-readers") is None


def test_a_forged_auth_choice_is_a_field_error(world: AdminHarness) -> None:
    _, modal = open_flow_modal(world)
    state = state_values_for(modal, cluster_flow())
    state["admin_flow_auth"]["admin_flow_auth"]["selected_option"] = {
        "text": {"type": "plain_text", "text": "kerberos"}, "value": "kerberos"}
    answer = world.slack.view_submission(DAN, modal, state).json()
    assert "Pick a password or an X.509 certificate" in answer["errors"]["admin_flow_auth"]
    with world.runtime.store.unit_of_work() as uow:
        assert uow.flows.get("db-readers") is None
def bundles_field(modal: dict[str, Any]) -> str:
    block = next(b for b in modal["blocks"] if b.get("block_id") == "admin_flow_bundles")
    return str(block["element"].get("initial_value") or "")


def shown_bundles(cli: Any) -> list[dict[str, Any]]:
    _, out, _ = cli("config", "show")
    flow = next(f for f in yaml.safe_load(out)["access_flows"] if f["name"] == "prod-projects")
    return list(flow.get("bundles") or [])


def test_a_flow_s_bundles_are_edited_in_the_modal_and_a_change_leaving_one_outside_every_flow_is_refused(
    world: AdminHarness, cli: Any
) -> None:
    with world.runtime.store.unit_of_work() as uow:
        flow = uow.flows.get("prod-projects")
        assert flow is not None
        uow.flows.upsert(AccessFlowSpec.model_validate({**flow.model_dump(), "bundles": [
            {"name": "incident-payments", "items": [{"resource": "payments", "roles": ["GROUP_READ_ONLY"]},
                                                    {"resource": "search", "roles": ["GROUP_READ_ONLY"]}]}]}))
    # given the flow modal, which shows the flow's bundle one a line
    _, modal = open_flow_modal(world, "prod-projects")
    assert bundles_field(modal) == "incident-payments: payments (GROUP_READ_ONLY); search (GROUP_READ_ONLY)"
    # narrowing the names so that search falls outside every flow is a field error, and nothing changes
    answer = submitted(world, modal, {"admin_flow_names": "payments, ledger, solo, vault"})
    assert answer["response_action"] == "errors"
    # (prod-org's names match anything, but it offers organization roles only)
    for field in ("admin_flow_names", "admin_flow_bundles"):
        assert "GROUP_READ_ONLY on 'search', which no access flow of integration 'prod' offers there" in \
            answer["errors"][field]
    assert "search" in shown_flow(cli, "prod-projects")["resources"]["names"]
    # another change keeps the bundles as they are
    assert submitted(world, modal, {"admin_flow_max_duration": "4h"}) == {}
    assert shown_flow(cli, "prod-projects")["max_duration"] == "4h"
    assert [b["name"] for b in shown_bundles(cli)] == ["incident-payments"]
    # when the admin rewrites them: one bundle changed, one added (blank lines and spaces around the parts)
    _, modal = open_flow_modal(world, "prod-projects")
    assert submitted(world, modal, {"admin_flow_bundles": (
        "incident-payments: payments (GROUP_READ_ONLY, GROUP_DATA_ACCESS_READ_ONLY)\n"
        "  \n"
        "search-debug : search ( GROUP_READ_ONLY )")}) == {}
    # then config show prints them as written (the request modal offers what is stored: test_several_resources)
    assert shown_bundles(cli) == [
        {"name": "incident-payments", "items": [
            {"resource": "payments", "roles": ["GROUP_READ_ONLY", "GROUP_DATA_ACCESS_READ_ONLY"]}]},
        {"name": "search-debug", "items": [{"resource": "search", "roles": ["GROUP_READ_ONLY"]}]}]
    # and emptied, the flow has none
    _, modal = open_flow_modal(world, "prod-projects")
    assert submitted(world, modal, {"admin_flow_bundles": ""}) == {}
    assert shown_bundles(cli) == []


@pytest.mark.parametrize(("text", "words"), [
    ("incident payments (GROUP_READ_ONLY)", "Line 1: Write each bundle"),  # no colon
    ("incident: payments", "Line 1: give each resource its roles in brackets"),
    ("ok: payments (GROUP_READ_ONLY)\nincident: (GROUP_READ_ONLY)", "Line 2: give each resource"),
    ("incident:", "Line 1: Write each bundle"),
    ("in cident: payments (GROUP_READ_ONLY)", "Line 1: a bundle's name is 1 to 64 letters"),
    ("incident: payments (GROUP_READ_ONLY); payments (GROUP_OWNER)", "Names a resource twice"),
    ("incident: payments ( , )", "Line 1: name at least one role in the brackets of payments"),
    ("incident: " + "; ".join(f"p{i} (GROUP_READ_ONLY)" for i in range(11)), "10"),
    ("incident: payments (ORG_OWNER)", "which no access flow of integration 'prod' offers there"),
])
def test_a_bundle_that_cannot_be_read_or_used_is_a_field_error_and_changes_nothing(
        world: AdminHarness, cli: Any, text: str, words: str) -> None:
    _, modal = open_flow_modal(world, "prod-projects")
    answer = submitted(world, modal, {"admin_flow_bundles": text, "admin_flow_max_duration": "4h"})
    assert answer.get("response_action") == "errors", answer
    assert words in answer["errors"]["admin_flow_bundles"], answer
    assert shown_flow(cli, "prod-projects")["max_duration"] != "4h" and shown_bundles(cli) == []


def test_bundles_too_long_for_the_field_are_shown_read_only_and_kept(world: AdminHarness, cli: Any) -> None:
    # given a flow whose twenty bundles, one a line, are longer than a Slack text field holds (3,000 characters)
    roles = ["GROUP_READ_ONLY", "GROUP_DATA_ACCESS_READ_ONLY"]
    bundles = [{"name": f"bundle-{i:02d}-" + "x" * 54, "items": [{"resource": "payments", "roles": roles},
                                                                 {"resource": "search", "roles": roles}]}
               for i in range(20)]
    with world.runtime.store.unit_of_work() as uow:
        flow = uow.flows.get("prod-projects")
        assert flow is not None
        uow.flows.upsert(AccessFlowSpec.model_validate({**flow.model_dump(), "bundles": bundles}))
    # when the modal opens, then they are shown read-only, not in a field Slack would refuse to open
    _, modal = open_flow_modal(world, "prod-projects")
    assert not [b for b in modal["blocks"] if b.get("block_id") == "admin_flow_bundles"]
    assert "too long to edit here" in view_text(modal) and "bundle-00-" in view_text(modal)
    # and saving another change keeps all twenty
    assert submitted(world, modal, {"admin_flow_max_duration": "4h"}) == {}
    assert [b["name"] for b in shown_bundles(cli)] == [b["name"] for b in bundles]

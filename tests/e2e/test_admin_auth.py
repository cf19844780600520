"""Stories: only admins administer; everyone else is refused (an ephemeral reply or a DM) and the refusal audited.

Each admin entry point is tried by eve (no admin), and some by mallory (a Slack Connect guest): the commands,
the home's buttons, the modals' buttons and submissions. Nothing changes, nothing reaches Atlas.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.slack.admin.drafts import FlowDraft, IntegrationDraft
from bot.slack.admin.form_views import flow_modal, integration_modal
from bot.slack.admin.home_view import home_modal
from bot.slack.admin.overview import load_overview
from tests.e2e.admin_harness import AdminHarness, admin_world, view_text
from tests.e2e.harness import DAN, EVE, wait

MALLORY = "U9"
NOT_ADMIN = "only atlas-access admins can do that"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[AdminHarness]:
    with admin_world(tmp_path) as harness:
        yield harness


def refusals(world: AdminHarness, user: str) -> list[dict[str, object]]:
    return [e.detail for e in world.audit("admin_refused") if e.actor == user]


def as_view(modal: dict[str, object], view_id: str = "V0FORGED") -> dict[str, Any]:
    """A modal as a forged payload would carry it (eve never got one from the app)."""
    return {**modal, "id": view_id, "hash": "1.1", "root_view_id": view_id, "previous_view_id": None}


def test_a_non_admin_is_refused_by_atlas_admin(world: AdminHarness) -> None:
    # when eve types /atlas-admin
    assert world.slack.command(EVE, command="/atlas-admin").status_code == 200

    # then she is told why, ephemerally, the modal says the same, and the refusal is audited
    wait(lambda: any(NOT_ADMIN in text for text in world.responses()))
    view = wait(lambda: world.sim.last_view(user_id=EVE))
    wait(lambda: NOT_ADMIN in view_text(world.sim.views[view["id"]]))
    assert "Integrations" not in view_text(world.sim.views[view["id"]])
    assert refusals(world, EVE) == [{"action": "/atlas-admin"}]


def test_a_non_admin_is_refused_by_atlas_sync(world: AdminHarness) -> None:
    calls = len(world.sb.calls)
    assert world.slack.command(EVE, command="/atlas-sync", text="prod").status_code == 200
    wait(lambda: any(NOT_ADMIN in text for text in world.responses()))
    assert refusals(world, EVE) == [{"action": "/atlas-sync"}]
    assert len(world.sb.calls) == calls  # nothing was asked of Atlas
    assert not world.sim.calls_to("chat.postMessage")


@pytest.mark.parametrize("action", [
    "admin_rotate_integration", "admin_toggle_integration", "admin_sync_integration", "admin_test_integration",
    "admin_edit_integration", "admin_add_integration", "admin_add_flow", "admin_edit_flow", "admin_toggle_flow",
    "admin_refresh",
])
def test_a_non_admin_clicking_an_admin_button_is_refused(world: AdminHarness, action: str) -> None:
    # given eve somehow clicks a button of the admin home (a forged request: she was never shown one)
    home = as_view(home_modal(load_overview(world.runtime.config)))
    calls, pushes = len(world.sb.calls), world.push_count()
    value = "playground" if "flow" in action else "prod"

    # when the click arrives
    assert world.slack.block_action(EVE, action, value, view=home).status_code == 200

    # then she hears why in a DM, it is audited, and nothing happened
    wait(lambda: any(NOT_ADMIN in m["text"] for m in world.sim.dms(EVE)))
    assert refusals(world, EVE) == [{"action": action}]
    assert len(world.sb.calls) == calls and world.push_count() == pushes
    with world.runtime.store.unit_of_work() as uow:
        assert uow.integrations.get("prod").enabled  # type: ignore[union-attr]
        assert uow.flows.get("playground").enabled  # type: ignore[union-attr]


def test_a_non_admin_cannot_test_a_connection_from_a_modal(world: AdminHarness) -> None:
    modal = as_view(integration_modal(IntegrationDraft()))
    state = {"admin_org_id": {"admin_org_id": {"type": "plain_text_input", "value": world.atlas.org_id}}}
    world.slack.block_action(EVE, "admin_test_connection", "test", view=modal, state=state)
    wait(lambda: any(NOT_ADMIN in m["text"] for m in world.sim.dms(EVE)))
    assert refusals(world, EVE) == [{"action": "admin_test_connection"}]
    assert not world.sb.calls or all(c.operation_id != "listOrgs" for c in world.sb.calls)


def test_a_non_admin_submitting_the_integration_modal_is_refused_in_the_modal(world: AdminHarness) -> None:
    modal = as_view(integration_modal(IntegrationDraft()))
    response = world.slack.submit(EVE, modal, {
        "admin_name": "stolen", "admin_org_id": world.atlas.org_id, "admin_discovery": ["projects"],
        "admin_credential_type": "api_key", "admin_credential_id": "abc", "admin_credential_secret": "s3cret-value",
        "admin_approval_channel": "C0APPROVALS",
    })
    assert response.status_code == 200
    answer = response.json()
    assert answer["response_action"] == "errors" and list(answer["errors"]) == ["admin_org_id"]
    assert NOT_ADMIN in answer["errors"]["admin_org_id"]
    assert refusals(world, EVE) == [{"action": "admin_integration"}]
    with world.runtime.store.unit_of_work() as uow:
        assert uow.integrations.get("stolen") is None


def test_a_non_admin_submitting_the_flow_modal_is_refused_in_the_modal(world: AdminHarness) -> None:
    modal = as_view(flow_modal(FlowDraft(integration="prod"), integrations=["prod"]))
    response = world.slack.submit(EVE, modal, {"admin_flow_name": "backdoor", "admin_flow_types": ["project"],
                                               "admin_flow_roles": ["GROUP_OWNER"]})
    assert response.json()["response_action"] == "errors"
    assert NOT_ADMIN in response.json()["errors"]["admin_flow_integration"]
    with world.runtime.store.unit_of_work() as uow:
        assert uow.flows.get("backdoor") is None


def test_a_slack_connect_guest_is_refused(world: AdminHarness) -> None:
    home = as_view(home_modal(load_overview(world.runtime.config)))
    world.slack.block_action(MALLORY, "admin_rotate_integration", "prod", view=home)
    wait(lambda: any("only members of this workspace" in m["text"] for m in world.sim.dms(MALLORY)))
    world.slack.command(MALLORY, command="/atlas-sync")
    wait(lambda: len(refusals(world, MALLORY)) == 2)


def test_a_guest_listed_as_an_admin_is_still_refused(tmp_path: Path) -> None:
    with admin_world(tmp_path, atlas_access_admins=f"@atlas-admins,{MALLORY}") as world:
        world.slack.command(MALLORY, command="/atlas-sync", text="prod")
        wait(lambda: any("only members of this workspace" in text for text in world.responses()))
        assert refusals(world, MALLORY) == [{"action": "/atlas-sync"}]


def test_nobody_is_an_admin_until_the_operator_names_some(tmp_path: Path) -> None:
    with admin_world(tmp_path, atlas_access_admins="") as world:
        world.slack.command(DAN, command="/atlas-admin")
        wait(lambda: any("ATLAS_ACCESS_ADMINS is empty" in text for text in world.responses()))
        assert refusals(world, DAN) == [{"action": "/atlas-admin"}]


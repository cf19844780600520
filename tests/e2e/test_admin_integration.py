"""Stories: an admin adds and edits an integration in a modal, tests its connection, and it syncs once saved.

Every field is validated as Slack field errors; the credentials are write-only (never shown back, kept when an
edit leaves them blank) and encrypted at rest.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bot.slack_sim import state_values_for
from tests.e2e.admin_harness import IDA, OTHER_CHANNEL, AdminHarness, admin_world, view_text
from tests.e2e.harness import DAN, blocks_text, wait


@pytest.fixture
def world(tmp_path: Path) -> Iterator[AdminHarness]:
    with admin_world(tmp_path) as harness:
        yield harness


@pytest.fixture
def staging_key(world: AdminHarness) -> tuple[str, str]:
    """A second API key of the same organization, for a second integration."""
    return world.sb.add_api_key(org_id=world.atlas.org_id, roles=["ORG_OWNER"], desc="staging bot")


def open_integration_modal(world: AdminHarness, name: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the home, the integration modal pushed on it): Add integration, or Edit on `name`."""
    home = world.open_admin()
    before = world.push_count()
    action, value = ("admin_edit_integration", name) if name else ("admin_add_integration", "new")
    assert world.slack.block_action(DAN, action, value, view=home).status_code == 200
    return home, world.pushed(DAN, "admin_integration", before)


def new_integration(world: AdminHarness, key: tuple[str, str], **changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "admin_name": "staging", "admin_org_id": world.atlas.org_id, "admin_discovery": ["organizations", "projects"],
        "admin_credential_type": "api_key", "admin_credential_id": key[0], "admin_credential_secret": key[1],
        "admin_approval_channel": OTHER_CHANNEL, "admin_rotation_days": "30",
        "admin_access_details": "Use SSO.", "admin_owner_users": [IDA], "admin_owner_groups": "@atlas-admins",
        "admin_owner_tag_key": "owner",
    }
    return values | changes


def submitted(world: AdminHarness, modal: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """The ack of a submission: {} when accepted, else `{response_action: errors, errors: {...}}`."""
    response = world.slack.submit(DAN, modal, values)
    assert response.status_code == 200
    return response.json() if response.content else {}


def connection_result(world: AdminHarness, modal: dict[str, Any], values: dict[str, Any]) -> str:
    """Click "Test connection" with `values` typed in; the result the modal then shows."""
    old_hash = modal["hash"]
    world.slack.block_action(DAN, "admin_test_connection", "test", view=modal,
                             state=state_values_for(modal, values))

    def result() -> str | None:
        view = world.sim.views[modal["id"]]
        found = [b for b in view["blocks"] if b.get("block_id") == "admin_connection_result"]
        shown = blocks_text({"blocks": found}) if found else ""
        return shown if view["hash"] != old_hash and shown and "checking" not in shown else None

    return wait(result)


# --- adding ------------------------------------------------------------------------------------------------------


def test_an_admin_adds_an_integration_which_is_tested_saved_encrypted_and_synced(
    world: AdminHarness, staging_key: tuple[str, str], caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    home, modal = open_integration_modal(world)
    values = new_integration(world, staging_key)

    # when dan tests the connection with what he typed
    shown = connection_result(world, modal, values)

    # then the modal says it works, in the right organization
    assert "Connected to organization *Acme*" in shown and staging_key[0] in shown

    # when he saves
    assert submitted(world, world.sim.views[modal["id"]], values) == {}

    # then the integration is stored with every setting, the admin home says so, and it is audited
    with world.runtime.store.unit_of_work() as uow:
        spec = uow.integrations.get("staging")
    assert spec is not None and spec.approval_channel == OTHER_CHANNEL and spec.credential_rotation_days == 30
    assert spec.integration_owners == [IDA, "@atlas-admins"] and spec.resource_owner is not None
    assert spec.resource_owner.tag_key == "owner" and spec.custom_access_details == "Use SSO."
    assert spec.credentials.private_key.get_secret_value() == staging_key[1]  # type: ignore[union-attr]
    world.home(home["id"], phrase="Saved integration *staging*")
    assert [e.actor for e in world.audit("integration_saved") if e.integration == "staging"] == [DAN]

    # and its first sync runs: dan gets a DM that ends with what it found
    dm = wait(lambda: next((blocks_text(m) for m in world.sim.dms(DAN) if "First sync of *staging*" in blocks_text(m)
                            and "synced" in blocks_text(m)), None))
    assert "1 organizations, 7 projects, 3 clusters, 5 users" in dm

    # and the secret is nowhere but encrypted in its row: not in the database in the clear, Slack, logs or audit
    secret = staging_key[1]
    with world.runtime.store.engine.connect() as connection:
        row = connection.execute(text("SELECT * FROM integration WHERE name = 'staging'")).one()._mapping
    assert secret not in repr(dict(row)) and row["credential_secret"].startswith("gAAAA")  # Fernet
    assert secret.encode() not in Path(world.database_url.removeprefix("sqlite:///")).read_bytes()
    assert secret not in repr([c.args for c in world.sim.calls])
    assert secret not in repr(world.sim.views) and secret not in caplog.text
    assert secret not in repr([e.detail for e in world.audit()])


def test_the_connection_test_tells_a_wrong_key_from_another_organizations_key(world: AdminHarness) -> None:
    _, modal = open_integration_modal(world)

    # a key Atlas does not know
    unknown = ("nosuchky", "00000000-0000-0000-0000-000000000000")
    shown = connection_result(world, modal, new_integration(world, unknown))
    assert ":x: Atlas refused the credentials" in shown and "HTTP 401" in shown and unknown[1] not in shown

    # a key of another organization
    modal = world.sim.views[modal["id"]]
    shown = connection_result(world, modal, new_integration(world, world.other_key))
    assert f"belongs to Globex ({world.other_org}), not to organization {world.atlas.org_id}" in shown

    # no organization ID yet
    modal = world.sim.views[modal["id"]]
    shown = connection_result(world, modal, new_integration(world, world.other_key, admin_org_id="123"))
    assert "Enter the organization ID first" in shown


@pytest.mark.parametrize(("changes", "block", "words"), [
    ({"admin_name": "bad name"}, "admin_name", "letters, digits, - and _"),
    ({"admin_name": "prod"}, "admin_name", "already exists"),
    ({"admin_org_id": "5f1a2b3c"}, "admin_org_id", "24 hexadecimal characters"),
    ({"admin_discovery": []}, "admin_discovery", "organizations, projects, or both"),
    ({"admin_credential_id": None}, "admin_credential_id", "public key"),
    ({"admin_credential_secret": None}, "admin_credential_secret", "private key"),
    ({"admin_approval_channel": None}, "admin_approval_channel", "channel"),
    ({"admin_rotation_days": "0"}, "admin_rotation_days", "whole number of days from 1 to 365"),
    ({"admin_rotation_days": "weekly"}, "admin_rotation_days", "whole number of days from 1 to 365"),
    ({"admin_access_details": "x" * 2001}, "admin_access_details", "at most 2000 characters"),
    ({"admin_owner_groups": "@no-such-team"}, "admin_owner_groups", "Slack knows no user group or person"),
    ({"admin_owner_groups": "not/a/principal"}, "admin_owner_groups", "is not a Slack @handle"),
    ({"admin_owner_users": [], "admin_owner_groups": None}, "admin_owner_tag_key",
     "needs at least one integration owner"),
])
def test_each_field_is_validated_in_the_modal(world: AdminHarness, staging_key: tuple[str, str],
                                              changes: dict[str, Any], block: str, words: str) -> None:
    _, modal = open_integration_modal(world)
    answer = submitted(world, modal, new_integration(world, staging_key, **changes))
    assert answer["response_action"] == "errors"
    assert block in answer["errors"] and words in answer["errors"][block], answer
    assert staging_key[1] not in repr(answer)
    with world.runtime.store.unit_of_work() as uow:
        assert uow.integrations.get("staging") is None or changes.get("admin_name") == "prod"


# --- editing -----------------------------------------------------------------------------------------------------


def test_editing_shows_every_setting_but_the_secret_and_a_blank_secret_keeps_the_stored_one(
    world: AdminHarness,
) -> None:
    _, modal = open_integration_modal(world, "prod")

    # then the modal is filled in, except the secret, which is nowhere in it
    text = view_text(modal)
    assert "Integration *prod*" in text and "Leave blank to keep the stored one" in text
    inputs = {b["block_id"]: b["element"] for b in modal["blocks"] if b["type"] == "input"}
    assert inputs["admin_org_id"]["initial_value"] == world.atlas.org_id
    assert inputs["admin_credential_id"]["initial_value"] == world.atlas.public_key
    assert "initial_value" not in inputs["admin_credential_secret"]
    assert inputs["admin_approval_channel"]["initial_conversation"] == "C0APPROVALS"
    assert inputs["admin_owner_groups"]["initial_value"] == "@atlas-admins"
    assert inputs["admin_owner_tag_key"]["initial_value"] == "owner"
    assert world.atlas.private_key not in repr(modal)

    # when dan sets a rotation period and saves with the secret left blank
    assert submitted(world, modal, {"admin_rotation_days": "14", "admin_credential_secret": None}) == {}

    # then the setting changed, the stored secret is the same, and Atlas still answers with it
    with world.runtime.store.unit_of_work() as uow:
        spec = uow.integrations.get("prod")
    assert spec is not None and spec.credential_rotation_days == 14
    assert spec.credentials.private_key.get_secret_value() == world.atlas.private_key  # type: ignore[union-attr]
    wait(lambda: any("First sync of *prod*" in blocks_text(m) and "synced" in blocks_text(m)
                     for m in world.sim.dms(DAN)))


def test_switching_to_a_service_account_needs_its_secret(world: AdminHarness) -> None:
    client_id, secret = world.sb.add_service_account(org_id=world.atlas.org_id)
    _, modal = open_integration_modal(world, "prod")
    answer = submitted(world, modal, {"admin_credential_type": "service_account", "admin_credential_id": client_id})
    assert answer["errors"] == {"admin_credential_secret": "Enter the private key (API key) or client secret "
                                                           "(service account)."}
    assert submitted(world, modal, {"admin_credential_type": "service_account", "admin_credential_id": client_id,
                                    "admin_credential_secret": secret}) == {}
    with world.runtime.store.unit_of_work() as uow:
        spec = uow.integrations.get("prod")
    assert spec is not None and spec.credentials.type == "service_account"
    assert world.runtime.sync.run("prod").changes.counts["organizations"] == 1


# --- roles added outside the bot -----------------------------------------------------------------------------------


def _remove_box(modal: dict[str, Any]) -> list[str]:
    """The values ticked in the "Roles added outside the bot" checkbox as the modal opens."""
    box = next(b for b in modal["blocks"] if b.get("block_id") == "admin_remove_unmanaged")
    assert box["type"] == "input" and box["optional"] is True and box["element"]["type"] == "checkboxes"
    assert [o["value"] for o in box["element"]["options"]] == ["on"]
    return [o["value"] for o in box["element"].get("initial_options") or []]


@pytest.mark.parametrize(("stored", "ticked"), [(False, True), (True, False), (True, True), (False, False)])
def test_the_remove_unmanaged_roles_box_shows_the_stored_setting_and_saves_what_is_ticked(
    world: AdminHarness, stored: bool, ticked: bool,
) -> None:
    # given prod stored with remove_unmanaged_roles as `stored`
    with world.runtime.store.unit_of_work() as uow:
        spec = uow.integrations.get("prod")
        assert spec is not None
        uow.integrations.upsert(spec.model_copy(update={"remove_unmanaged_roles": stored}))

    # when dan opens Edit on prod, then the box says what is stored
    _, modal = open_integration_modal(world, "prod")
    assert _remove_box(modal) == (["on"] if stored else [])
    assert "Roles added outside the bot" in view_text(modal) and "also removed" in view_text(modal)

    # when he saves with the box ticked or not (everything else as shown, the secret left blank)
    assert submitted(world, modal, {"admin_remove_unmanaged": ["on"] if ticked else []}) == {}

    # then that is the integration's setting, and nothing else changed
    with world.runtime.store.unit_of_work() as uow:
        saved = uow.integrations.get("prod")
    assert saved is not None and saved.remove_unmanaged_roles is ticked
    assert saved.model_copy(update={"remove_unmanaged_roles": stored}) == spec.model_copy(
        update={"remove_unmanaged_roles": stored})
    wait(lambda: any("First sync of *prod*" in blocks_text(m) and "synced" in blocks_text(m)
                     for m in world.sim.dms(DAN)))


@pytest.mark.parametrize("ticked", [False, True])
def test_a_new_integration_starts_unticked_and_saves_what_is_ticked(
    world: AdminHarness, staging_key: tuple[str, str], ticked: bool,
) -> None:
    _, modal = open_integration_modal(world)
    assert _remove_box(modal) == []  # only reported, unless the admin says otherwise
    values = new_integration(world, staging_key, admin_remove_unmanaged=["on"] if ticked else [])
    assert submitted(world, modal, values) == {}
    with world.runtime.store.unit_of_work() as uow:
        spec = uow.integrations.get("staging")
    assert spec is not None and spec.remove_unmanaged_roles is ticked
    wait(lambda: any("First sync of *staging*" in blocks_text(m) and "synced" in blocks_text(m)
                     for m in world.sim.dms(DAN)))

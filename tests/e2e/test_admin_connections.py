"""Stories: an admin connects PagerDuty (and Okta) to an integration in its modal: the key is tested against every
schedule the integration's flows name, saved encrypted, never shown back (a blank field keeps it, a box removes
it), and the admin home says where it is without showing it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from access.config import AccessFlowSpec
from tests.e2e.admin_harness import AdminHarness, admin_world, view_text
from tests.e2e.harness import DAN, flow_specs
from tests.e2e.test_admin_integration import connection_result, open_integration_modal, submitted


@pytest.fixture
def world(tmp_path: Path) -> Iterator[AdminHarness]:
    with admin_world(tmp_path) as harness:
        harness.pagerduty.add_schedule("PPRIMARY", name="Payments primary")
        yield harness


def stored_pagerduty(world: AdminHarness) -> Any:
    with world.runtime.store.unit_of_work() as uow:
        spec = uow.integrations.get("prod")
    assert spec is not None
    return spec.pagerduty


def test_an_admin_connects_pagerduty_tests_it_and_it_stays_write_only(world: AdminHarness) -> None:
    key = world.pagerduty.add_api_key()
    world.vendor_secrets.append(key)
    # given a flow of prod that will name schedule PPRIMARY (and one that does not exist) once PagerDuty is there
    _, modal = open_integration_modal(world, "prod")
    assert "PagerDuty REST API key" in view_text(modal)
    # when dan types the key and tests the connection: the key works and the schedules are checked
    result = connection_result(world, modal, {"admin_pagerduty_key": key})
    assert "PagerDuty: the key works" in result and key not in result
    # a wrong key is named as refused
    modal = world.sim.views[modal["id"]]
    assert "PagerDuty: the credentials were refused (401)" in connection_result(
        world, modal, {"admin_pagerduty_key": "u+wrong-key"})
    # when he saves with the right key
    modal = world.sim.views[modal["id"]]
    assert submitted(world, modal, {"admin_pagerduty_key": key}) == {}
    connection = stored_pagerduty(world)
    assert connection is not None and connection.api_key.get_secret_value() == key
    with world.runtime.store.engine.connect() as db:
        assert key not in str(db.execute(text("SELECT pagerduty, pagerduty_secret FROM integration")).all())
    # and a flow names its schedules: Test connection from the admin home checks each one
    with world.runtime.store.unit_of_work() as uow:
        base = next(f for f in flow_specs() if f.name == "prod-projects")
        uow.flows.upsert(AccessFlowSpec.model_validate({**base.model_dump(), "auto_approve": {"on_call": {
            "provider": "pagerduty", "schedules": ["PPRIMARY", "PGONE"], "max_duration": "4h"}}}))
    home = world.open_admin()
    shown = view_text(home)
    assert "PagerDuty: API key stored (encrypted)" in shown and key not in repr(home)
    assert "finds no schedule PGONE" in shown and "Payments primary (PPRIMARY)" in shown
    assert "or at once for whoever is on call in PagerDuty PPRIMARY, PGONE, up to 4h" in shown
    # when he edits the integration again: the key is not shown, a blank field keeps it
    _, modal = open_integration_modal(world, "prod")
    inputs = {b["block_id"]: b["element"] for b in modal["blocks"] if b["type"] == "input"}
    assert "initial_value" not in inputs["admin_pagerduty_key"] and key not in repr(modal)
    assert "a key is stored (encrypted)" in view_text(modal)
    assert submitted(world, modal, {"admin_rotation_days": "14"}) == {}
    assert stored_pagerduty(world).api_key.get_secret_value() == key
    # and ticking "Remove" is refused while a flow approves on-call people, and done once none does
    _, modal = open_integration_modal(world, "prod")
    refused = submitted(world, modal, {"admin_pagerduty_remove": ["on"]})
    assert "prod-projects approves whoever is on call" in refused["errors"]["admin_pagerduty_remove"]
    assert stored_pagerduty(world) is not None
    with world.runtime.store.unit_of_work() as uow:
        uow.flows.upsert(AccessFlowSpec.model_validate({**base.model_dump(), "auto_approve": None}))
    assert submitted(world, modal, {"admin_pagerduty_remove": ["on"]}) == {}
    assert stored_pagerduty(world) is None and DAN


def stored_okta(world: AdminHarness) -> Any:
    with world.runtime.store.unit_of_work() as uow:
        spec = uow.integrations.get("prod")
    assert spec is not None
    return spec.okta


def test_an_admin_connects_okta_tests_its_groups_and_it_stays_write_only(world: AdminHarness) -> None:
    token = world.okta.add_api_token()
    world.vendor_secrets.append(token)
    group = world.okta.add_group("DBA Team")
    world.okta.add_member(group, world.okta.add_user("dan@example.com"))
    _, modal = open_integration_modal(world, "prod")
    okta = {"admin_okta_url": "https://acme.okta.com", "admin_okta_type": "api_token", "admin_okta_secret": token,
            "admin_owner_groups": "@atlas-admins, okta:DBA Team, okta:Ghost Team"}
    # when dan types the Okta org and token and tests the connection: each okta: owner group is looked up
    result = connection_result(world, modal, okta)
    assert "Okta: connected, but it knows no group Ghost Team; found DBA Team (1 members)" in result
    assert token not in result
    # a token without the org URL is refused in the modal, naming the field
    modal = world.sim.views[modal["id"]]
    refused = submitted(world, modal, {**okta, "admin_okta_url": None})
    assert "Okta org URL" in refused["errors"]["admin_okta_url"]
    # when he saves with the URL: stored encrypted, and the owners include the Okta group
    modal = world.sim.views[modal["id"]]
    assert submitted(world, modal, {**okta, "admin_owner_groups": "@atlas-admins, okta:DBA Team"}) == {}
    connection = stored_okta(world)
    assert connection.org_url == "https://acme.okta.com" and connection.credentials.token.get_secret_value() == token
    with world.runtime.store.engine.connect() as db:
        assert token not in str(db.execute(text("SELECT okta, okta_secret, integration_owners FROM integration")).all())
    # the admin home says where the token is, never what it is
    home = world.open_admin()
    assert "Okta: https://acme.okta.com, API token stored (encrypted)" in view_text(home) and token not in repr(home)
    assert "Okta: connected; groups DBA Team (1 members)." in view_text(home)
    # editing shows the URL, not the token; a blank token keeps it
    _, modal = open_integration_modal(world, "prod")
    inputs = {b["block_id"]: b["element"] for b in modal["blocks"] if b["type"] == "input"}
    assert inputs["admin_okta_url"]["initial_value"] == "https://acme.okta.com"
    assert "initial_value" not in inputs["admin_okta_secret"] and token not in repr(modal)
    assert submitted(world, modal, {"admin_rotation_days": "7"}) == {}
    assert stored_okta(world).credentials.token.get_secret_value() == token

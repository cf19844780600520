"""Stories: the /atlas-admin modals hold every limit on the server, whatever a crafted submission carries.

Slack's own `max_length` on a text input is the browser's business; these submissions are signed requests past
it, as an attacker (or a script) would send them. Each answer is a field error on the right field, saying what
is allowed, and nothing is saved: never a 500, never a traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.e2e.admin_harness import AdminHarness, admin_world
from tests.e2e.test_admin_flows import new_flow, open_flow_modal
from tests.e2e.test_admin_integration import new_integration, open_integration_modal


@pytest.fixture
def world(tmp_path: Path) -> Iterator[AdminHarness]:
    with admin_world(tmp_path) as harness:
        yield harness


def answer(world: AdminHarness, modal: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    response = world.slack.submit("U4", modal, values)
    assert response.status_code == 200, response.text  # never a 500
    return response.json() if response.content else {}


@pytest.mark.parametrize(("changes", "block", "words"), [
    ({"admin_rotation_days": "9" * 20}, "admin_rotation_days", "1 to 365"),
    ({"admin_rotation_days": "9" * 5000}, "admin_rotation_days", "1 to 365"),
    ({"admin_rotation_days": "366"}, "admin_rotation_days", "1 to 365"),
    ({"admin_rotation_days": "0"}, "admin_rotation_days", "1 to 365"),
    ({"admin_rotation_days": "\u00b2"}, "admin_rotation_days", "1 to 365"),  # a digit to str.isdigit, not to int
    ({"admin_access_details": "x" * 100_000}, "admin_access_details", "2000"),
    ({"admin_owner_groups": ", ".join(f"@team-{i}" for i in range(150))}, "admin_owner_groups", "at most 100"),
    ({"admin_owner_groups": "a" * 300 + "@example.com"}, "admin_owner_groups", "at most 254"),
    ({"admin_credential_secret": "s" * 10_000}, "admin_credential_secret", "at most 500"),
    ({"admin_credential_id": "k" * 10_000}, "admin_credential_id", "at most 200"),
    ({"admin_owner_tag_key": "t" * 10_000}, "admin_owner_tag_key", "255"),
    ({"admin_name": "n" * 10_000}, "admin_name", "1 to 64"),
])
def test_the_integration_modal_holds_every_limit(world: AdminHarness, changes: dict[str, Any], block: str,
                                                 words: str) -> None:
    staging_key = world.sb.add_api_key(org_id=world.atlas.org_id, roles=["ORG_OWNER"], desc="staging bot")
    _, modal = open_integration_modal(world)
    found = answer(world, modal, new_integration(world, staging_key, **changes))
    assert found.get("response_action") == "errors" and words in found["errors"].get(block, ""), found
    assert all(len(message) < 300 for message in found["errors"].values())
    assert world.audit("integration_saved") == []


@pytest.mark.parametrize(("changes", "block", "words"), [
    ({"admin_flow_max_duration": "9999999999d"}, "admin_flow_max_duration", "longest allowed"),
    ({"admin_flow_max_duration": "9" * 20}, "admin_flow_max_duration", "longest allowed"),
    ({"admin_flow_max_duration": "366d"}, "admin_flow_max_duration", "365d"),
    ({"admin_flow_max_duration": "0m"}, "admin_flow_max_duration", "at least 1 minute"),
    ({"admin_flow_approvals_required": "9" * 20}, "admin_flow_approvals_required", "1 to 10"),
    ({"admin_flow_approvals_required": "\u00b2"}, "admin_flow_approvals_required", "1 to 10"),
    ({"admin_flow_names": ", ".join(f"p{i}" for i in range(150))}, "admin_flow_names", "at most 100"),
    ({"admin_flow_names": "p" * 10_000}, "admin_flow_names", "at most 255"),
    ({"admin_flow_tags": ", ".join(f"k{i}=v" for i in range(60))}, "admin_flow_tags", "at most 50"),
    ({"admin_flow_tags": "env=" + "v" * 10_000}, "admin_flow_tags", "at most 255"),
    ({"admin_flow_requester_groups": " ".join(f"@team-{i}" for i in range(150))}, "admin_flow_requester_groups",
     "at most 100"),
    ({"admin_flow_other_roles": " ".join(f"GROUP_X{i}" for i in range(60))}, "admin_flow_roles", "at most 50"),
    ({"admin_flow_name": "n" * 10_000}, "admin_flow_name", "1 to 64"),
])
def test_the_flow_modal_holds_every_limit(world: AdminHarness, changes: dict[str, Any], block: str,
                                          words: str) -> None:
    _, modal = open_flow_modal(world)
    found = answer(world, modal, new_flow(**changes))
    assert found.get("response_action") == "errors" and words in found["errors"].get(block, ""), found
    assert all(len(message) < 300 for message in found["errors"].values())
    assert world.audit("flow_saved") == []


def test_the_limits_themselves_save(world: AdminHarness) -> None:
    _, modal = open_flow_modal(world)
    assert answer(world, modal, new_flow(admin_flow_max_duration="365d", admin_flow_approvals_required="10")) == {}
    with world.runtime.store.unit_of_work() as uow:
        flow = uow.flows.get("search-writers")
    assert flow is not None and flow.max_duration.days == 365 and flow.approvals_required == 10


def test_a_stored_timeout_past_its_limit_is_named_when_the_flow_is_edited(world: AdminHarness) -> None:
    # given prod-projects stored by an older release with a 400-day pending expiry (not a field of the modal)
    with world.runtime.store.engine.begin() as connection:
        connection.execute(text("UPDATE access_flow SET pending = :pending WHERE name = 'prod-projects'"),
                           {"pending": '{"remind_after": "PT1H", "escalate_after": "PT4H", "expire_after": "P400D"}'})
    # when an admin edits it in the modal and saves
    _, modal = open_flow_modal(world, "prod-projects")
    found = answer(world, modal, {"admin_flow_max_duration": "4h"})
    # then the field error says which stored value is out of range and where it is set, and nothing changed
    message = found["errors"]["admin_flow_max_duration"]
    assert "pending.expire_after" in message and "config file" in message and "365d" in message
    assert world.audit("flow_saved") == []

"""Stories: an admin opens /atlas-admin and sees every integration's health and every access flow, and acts on them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.e2e.admin_harness import IDA, AdminHarness, admin_world, view_text
from tests.e2e.harness import CHANNEL, DAN, blocks_text, wait


@pytest.fixture
def world(tmp_path: Path) -> Iterator[AdminHarness]:
    with admin_world(tmp_path) as harness:
        yield harness


def test_the_admin_home_shows_health_counts_and_flows(world: AdminHarness) -> None:
    # given prod was synced an hour ago
    world.clock.advance(timedelta(hours=1))

    # when dan (an admin through @atlas-admins) types /atlas-admin
    started = time.monotonic()
    response = world.slack.command(DAN, command="/atlas-admin")
    assert response.status_code == 200 and time.monotonic() - started < 3  # acked at once
    opened = wait(lambda: world.sim.last_view(user_id=DAN, callback_id="admin_home"))
    home = world.home(opened["id"])

    # then the modal shows prod: its organization, its credential (never the secret), live check, sync and counts
    text = view_text(home)
    assert f"organization `{world.atlas.org_id}`" in text and f"API key {world.atlas.public_key}" in text
    assert "Credentials: :white_check_mark: Connected to organization *Acme*" in text
    assert "Last sync: <!date^" in text and "Last rotation: never (no scheduled rotation)" in text
    assert "Inventory: 1 organizations, 6 projects, 0 clusters, 5 users" in text
    assert world.atlas.private_key not in repr(world.sim.calls)

    # and every access flow with what it allows, and the buttons to act
    for flow in ("prod-projects", "vault-write", "playground", "prod-org"):
        assert f"*{flow}* → prod" in text
    assert "2 owner approvals" in text and "auto-approved" in text
    actions = [e["action_id"] for b in home["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert {"admin_add_integration", "admin_add_flow", "admin_edit_integration", "admin_test_integration",
            "admin_sync_integration", "admin_rotate_integration", "admin_toggle_integration", "admin_edit_flow",
            "admin_toggle_flow"} <= set(actions)


def test_an_admin_named_by_user_id_may_open_it_too(world: AdminHarness) -> None:
    home = world.open_admin(IDA)
    assert "*prod*" in view_text(home)


def test_a_broken_credential_shows_in_the_home(world: AdminHarness) -> None:
    # given prod's API key was deleted in Atlas
    world.sb.remove_api_key(public_key=world.atlas.public_key)

    # when an admin opens the home
    text = view_text(world.open_admin())

    # then the live check says Atlas refused the credentials, in a sentence
    assert "Credentials: :x: Atlas refused the credentials of prod (HTTP 401" in text
    assert "Traceback" not in text


def test_disable_and_enable_an_integration_and_a_flow(world: AdminHarness) -> None:
    home = world.open_admin()

    # when dan disables prod
    world.slack.block_action(DAN, "admin_toggle_integration", "prod", view=home)
    home = world.home(home["id"], phrase="is disabled")

    # then it is disabled (kept, not deleted) and nobody can ask through it; the change is audited
    assert "*prod*  _(disabled)_" in view_text(home)
    assert world.runtime.sync.integrations() == []
    assert [e.actor for e in world.audit("integration_saved")][-1] == DAN

    # when dan disables the playground flow, then enables prod again
    world.slack.block_action(DAN, "admin_toggle_flow", "playground", view=home)
    home = world.home(home["id"], phrase="*playground* is disabled")
    world.slack.block_action(DAN, "admin_toggle_integration", "prod", view=home)
    home = world.home(home["id"], phrase="is enabled again")

    # then the flow is still there, disabled, and the integration is back
    with world.runtime.store.unit_of_work() as uow:
        playground = uow.flows.get("playground")
    assert playground is not None and not playground.enabled
    assert "*playground*  _(disabled)_" in view_text(home)
    assert world.runtime.sync.integrations() == ["prod"]


def test_test_connection_from_the_home(world: AdminHarness) -> None:
    home = world.open_admin()
    world.slack.block_action(DAN, "admin_test_integration", "prod", view=home)
    home = world.home(home["id"], phrase="*prod*: :white_check_mark: Connected")
    assert "Acme" in view_text(home)


def test_rotate_now_from_the_home(world: AdminHarness) -> None:
    home = world.open_admin()
    old = world.atlas.public_key

    # when dan clicks Rotate now
    world.slack.block_action(DAN, "admin_rotate_integration", "prod", view=home)
    home = world.home(home["id"], phrase="the credential was rotated")

    # then a new key is stored, the old one is gone, the rotation is audited under dan's name
    with world.runtime.store.unit_of_work() as uow:
        spec = uow.integrations.get("prod")
    assert spec is not None and spec.credentials.public_key != old  # type: ignore[union-attr]
    assert [(e.action, e.actor) for e in world.audit() if e.action.startswith("credential")][-2:] == [
        ("credential_issued", DAN), ("credential_rotated", DAN)]
    assert "Last rotation: <!date^" in view_text(home)
    # and the bot keeps working with the new key
    assert world.runtime.sync.run("prod").changes.counts["projects"] == 7


def test_a_failed_rotation_says_so_and_tells_the_owners(world: AdminHarness) -> None:
    home = world.open_admin()
    world.sb.faults.fail_next(status=500, count=1, operation_id="createOrgApiKey")
    world.slack.block_action(DAN, "admin_rotate_integration", "prod", view=home)
    home = world.home(home["id"], phrase="rotation failed")
    assert "The current credential stays in use" in view_text(home)
    wait(lambda: any("Credential rotation for prod failed" in m["text"] for m in world.sim.messages(CHANNEL)))


def test_atlas_admin_help_and_subcommands(world: AdminHarness) -> None:
    world.slack.command(DAN, command="/atlas-admin", text="help")
    wait(lambda: any("`/atlas-sync [integration]`" in text for text in world.responses()))
    world.slack.command(DAN, command="/atlas-admin", text="frobnicate")
    wait(lambda: any(text.startswith("I don't know `frobnicate`") for text in world.responses()))
    assert not world.sim.calls_to("views.open")  # words only, no modal


def test_every_admin_request_is_acked_at_once_even_when_atlas_is_slow(world: AdminHarness) -> None:
    # given Atlas takes half a second for every call
    home = world.open_admin()
    world.sb.faults.latency = 0.5
    modal_state = {"admin_org_id": {"admin_org_id": {"type": "plain_text_input", "value": world.atlas.org_id}}}
    requests = [
        lambda: world.slack.command(DAN, command="/atlas-admin"),
        lambda: world.slack.command(DAN, command="/atlas-sync", text="prod"),
        lambda: world.slack.block_action(DAN, "admin_test_integration", "prod", view=home),
        lambda: world.slack.block_action(DAN, "admin_sync_integration", "prod", view=home),
        lambda: world.slack.block_action(DAN, "admin_test_connection", "test", view=home, state=modal_state),
    ]

    # when each arrives, then Slack has its answer well within its 3 seconds
    for send in requests:
        started = time.monotonic()
        assert send().status_code == 200
        assert time.monotonic() - started < 1.0

    # and the modal was opened with its trigger (which lives 3 s), before anything slow happened
    wait(lambda: len(world.sim.calls_to("views.open")) == 2 and all(c.ok for c in world.sim.calls_to("views.open")))
    # and whichever sync was handled second found the first still running (Atlas stays slow until then: on a
    # loaded machine the second may be handled late, and a sync asked for after the first ended rightly runs)
    def told_busy() -> bool:
        view = world.sim.views.get(home["id"])
        return any("already running" in text for text in world.responses() + [view_text(view)])

    wait(told_busy, timeout=30)
    world.sb.faults.latency = 0.0
    # and of the two syncs asked for, one ran (whichever came first) and the other was told so
    wait(lambda: any("synced" in blocks_text(m) for m in world.sim.messages("C0GENERAL") + world.sim.dms(DAN)),
         timeout=30)
    assert len(world.sim.calls_to("chat.postMessage")) == 1


def test_atlas_admin_audit_sends_the_audit_trail_as_a_file(world: AdminHarness) -> None:
    world.slack.command(DAN, command="/atlas-admin", text="audit --since 7d --format json")
    wait(lambda: world.sim.uploaded_files)
    assert world.sim.uploaded_files[-1].filename.endswith(".json")
    wait(lambda: any("in a DM" in text for text in world.responses()))
    world.slack.command("U5", command="/atlas-admin", text="audit")
    wait(lambda: any("only atlas-access admins" in text for text in world.responses()))


def test_rotate_now_waits_for_a_running_sync(world: AdminHarness) -> None:
    # given a slow sync of prod is running (rotating now would delete the key it reads Atlas with)
    home = world.open_admin()
    world.sb.faults.latency = 0.1
    world.slack.command(DAN, command="/atlas-sync", text="prod")
    wait(lambda: world.sim.messages("C0GENERAL"))

    # when dan clicks Rotate now, then he is asked to wait, and nothing is rotated
    world.slack.block_action(DAN, "admin_rotate_integration", "prod", view=home)
    world.home(home["id"], phrase="rotate its credential once it has finished")
    assert world.sb.count("createOrgApiKey") == 0
    wait(lambda: any("synced" in blocks_text(m) for m in world.sim.messages("C0GENERAL")), timeout=10)

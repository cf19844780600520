"""Stories: an admin lists the live grants and revokes one now; an owner revokes from the approval message or their
App Home; anyone else is refused; a grant that has just ended cannot be revoked again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from access.model import GrantStatus
from tests.e2e.admin_harness import AdminHarness, admin_world, view_text
from tests.e2e.harness import ANN, BOB, DAN, DATA_READ, EVE, READ, blocks_text, wait
from tests.e2e.test_done import home_button

HOSTILE = "INC-9 <!channel> *laptop stolen* <https://evil.example|click>"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[AdminHarness]:
    with admin_world(tmp_path) as built:
        yield built


def granted(world: AdminHarness) -> tuple[int, int]:
    """ann's READ on payments, approved by bob and live in Atlas: (request id, grant id)."""
    request = world.request(ANN, "payments", [READ])
    world.click(BOB, "approve", request)
    grant = world.wait_grant(request, GrantStatus.ACTIVE)
    assert world.project_roles("payments", ANN) == {READ, DATA_READ}
    return request.id or 0, grant.id or 0


def reason_modal(world: AdminHarness, user: str, before: int, *, pushed: bool) -> dict[str, Any]:
    method = "views.push" if pushed else "views.open"
    wait(lambda: len(world.sim.calls_to(method)) > before)
    view = world.sim.last_view(user_id=user, callback_id="grant_revoke_reason")
    assert view is not None
    return view


def test_an_admin_lists_the_live_grants_and_revokes_one_now(world: AdminHarness) -> None:
    request_id, grant_id = granted(world)
    # when dan lists the live grants of ann
    opened = len(world.sim.calls_to("views.open"))
    assert world.slack.command(DAN, command="/atlas-admin", text=f"grants person:<@{ANN}|ann>").status_code == 200
    wait(lambda: len(world.sim.calls_to("views.open")) > opened)
    listed = wait(lambda: (lambda v: v if v and "Live grants" in view_text(v) and "of 1" in view_text(v) else None)(
        world.sim.last_view(user_id=DAN, callback_id="admin_grants")))
    text = view_text(listed)
    assert f"<@{ANN}>" in text and "payments" in text and "GROUP_READ_ONLY" in text and f"by <@{BOB}>" in text
    # and clicks Revoke now on it: a modal asks why, on top of the list
    pushes = len(world.sim.calls_to("views.push"))
    assert world.slack.block_action(DAN, "grant_revoke", str(grant_id), view=listed).status_code == 200
    modal = reason_modal(world, DAN, pushes, pushed=True)
    assert world.slack.submit(DAN, modal, {"revoke_reason": HOSTILE}).status_code == 200

    # then the grant ends at once, and ann is back to exactly what she held before
    revoked = world.wait_grant(world.get(request_id)[0], GrantStatus.REVOKED)
    assert (revoked.revoked_at, revoked.ended_by, revoked.ended_as) == (world.clock.now(), DAN, "admin")
    assert world.project_roles("payments", ANN) == {DATA_READ}
    assert [(e.actor, e.detail["reason"]) for e in world.audit("revoked_by_admin")] == [(DAN, HOSTILE)]
    assert world.audit("revoked")[0].detail["reason"] == "revoked_by_admin"
    # ann is told why, the reason as text (no @channel, no link), and the approval message says it
    dm = wait(lambda: next((t for t in world.dm_texts(ANN) if "revoked by" in t), None))
    assert f"<@{DAN}> (an admin)" in dm and "&lt;!channel&gt;" in dm and "<!channel>" not in dm
    assert "<https://evil" not in dm and "Removed: `GROUP_READ_ONLY`" in dm
    message = world.wait_message(request_id, "revoked by")
    assert "<!channel>" not in message and "Revoke now" not in message
    # and the list shows it gone, with what happened
    root = listed["id"]
    shown = wait(lambda: (lambda v: v if v and "is revoked" in view_text(v) else None)(world.sim.views.get(root)))
    assert "No live grants" in view_text(shown)


def test_an_owner_revokes_from_the_approval_message_and_others_are_refused(world: AdminHarness) -> None:
    request_id, grant_id = granted(world)
    world.wait_message(request_id, "Revoke now")  # the message has the button once the access is live
    channel, ts = world.get(request_id)[0].channel or "", world.get(request_id)[0].message_ts or ""
    # eve, who neither owns payments nor administers anything, is refused, and that is on record
    assert world.slack.block_action(EVE, "grant_revoke", str(grant_id), message=(channel, ts)).status_code == 200
    refusal = wait(lambda: next((t for t in world.ephemeral_texts(EVE) if "Only an admin or an owner" in t), None))
    assert refusal and [e.detail["action"] for e in world.audit("refused") if e.actor == EVE] == ["revoke_now"]
    assert world.get(request_id)[1].status is GrantStatus.ACTIVE  # type: ignore[union-attr]

    # bob, an owner of payments, revokes from the message
    opens = len(world.sim.calls_to("views.open"))
    assert world.slack.block_action(BOB, "grant_revoke", str(grant_id), message=(channel, ts)).status_code == 200
    modal = reason_modal(world, BOB, opens, pushed=False)
    assert world.slack.submit(BOB, modal, {"revoke_reason": "no"}).json()["errors"]["revoke_reason"]  # says nothing
    assert world.get(request_id)[1].status is GrantStatus.ACTIVE  # type: ignore[union-attr]
    assert world.slack.submit(BOB, modal, {"revoke_reason": "INC-9: mistaken approval"}).status_code == 200
    world.wait_grant(world.get(request_id)[0], GrantStatus.REVOKED)
    assert world.project_roles("payments", ANN) == {DATA_READ}
    assert [e.actor for e in world.audit("revoked_by_owner")] == [BOB]
    world.wait_message(request_id, "an owner of the resource")

    # the same modal submitted again (a double submit, another owner a moment late): told, nothing changes
    again = world.slack.submit(BOB, modal, {"revoke_reason": "INC-9: mistaken approval"})
    assert "already ended" in again.json()["errors"]["revoke_reason"]
    assert len(world.audit("revoked_by_owner")) == 1 and len(world.audit("revoked")) == 1
    assert sum(1 for c in world.sb.calls if c.operation_id == "removeGroupUserRole" and c.status < 300) == 1


def test_owners_and_admins_see_live_grants_on_their_app_home(world: AdminHarness) -> None:
    request_id, grant_id = granted(world)
    for user, title in ((BOB, "Live access on resources you own"), (DAN, "Live grants (admins)")):
        assert world.slack.app_home_opened(user).status_code == 200
        home, button = home_button(world, user, "grant_revoke")
        assert title in blocks_text(home) and button["value"] == str(grant_id)
    # eve owns nothing: no section, no button
    assert world.slack.app_home_opened(EVE).status_code == 200
    wait(lambda: world.sim.home(EVE))
    assert "grant_revoke" not in str(world.sim.home(EVE))
    # bob revokes from his Home
    home, button = home_button(world, BOB, "grant_revoke")
    opens = len(world.sim.calls_to("views.open"))
    assert world.slack.block_action(BOB, "grant_revoke", button["value"], view=home).status_code == 200
    modal = reason_modal(world, BOB, opens, pushed=False)
    assert world.slack.submit(BOB, modal, {"revoke_reason": "INC-10: done with it"}).status_code == 200
    world.wait_grant(world.get(request_id)[0], GrantStatus.REVOKED)
    wait(lambda: "grant_revoke" not in str(world.sim.home(BOB)))

"""Stories: "I'm done" on the App Home ends a grant at once and restores what the person held before."""

from __future__ import annotations

from typing import Any

from access.model import GrantStatus
from tests.e2e.harness import ANN, BOB, DATA_READ, READ, Harness, blocks_text, wait


def home_button(world: Harness, user: str, action_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """`user`'s published Home and its first button with `action_id`, once there is one."""
    def found() -> tuple[dict[str, Any], dict[str, Any]] | None:
        home = world.sim.home(user)
        for block in (home or {}).get("blocks", []):
            for element in [*block.get("elements", []), block.get("accessory") or {}]:
                if element.get("action_id") == action_id:
                    return home, element
        return None

    return wait(found)


def test_im_done_revokes_at_once_and_keeps_the_baseline(world: Harness) -> None:
    # given ann holds READ on payments through an approved request (and DATA_READ of her own)
    request = world.request(ANN, "payments", [READ])
    world.click(BOB, "approve", request)
    grant = world.wait_grant(request, GrantStatus.ACTIVE)
    assert world.project_roles("payments", ANN) == {READ, DATA_READ}

    # when she opens her Home and clicks "I'm done"
    assert world.slack.app_home_opened(ANN).status_code == 200
    home, button = home_button(world, ANN, "home_done")
    assert "payments" in blocks_text(home) and button["value"] == str(grant.id)
    assert world.slack.block_action(ANN, "home_done", button["value"], view=home).status_code == 200

    # then the grant is revoked now, not at expiry, and only what it added is gone
    revoked = world.wait_grant(request, GrantStatus.REVOKED)
    assert revoked.revoked_at == world.clock.now()
    assert world.project_roles("payments", ANN) == {DATA_READ}
    assert [e.actor for e in world.audit("ended_early")] == [ANN]
    # and she is told, the approval message shows it, and her Home no longer offers the button
    wait(lambda: any("has ended" in text for text in world.dm_texts(ANN)))
    world.wait_message(request, "revoked")
    wait(lambda: "no Atlas access" in blocks_text(world.sim.home(ANN) or {}))

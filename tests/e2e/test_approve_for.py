"""Stories: an owner approves for less time than asked and says why, and the requester reads what was approved and
why; a flow that requires a reason with every approval gets one; approving for more than asked is refused."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from access.config import AccessFlowSpec
from access.model import GrantStatus, RequestStatus
from tests.e2e.harness import ANN, BOB, EVE, READ, Harness, blocks_text, wait

HOSTILE_REASON = "INC-5 <!here> only needs *two* hours"


def approve_for_modal(world: Harness, user: str, request_id: int) -> dict[str, Any]:
    before = len(world.sim.calls_to("views.open"))
    assert world.click(user, "approve_for", request_id).status_code == 200
    wait(lambda: len(world.sim.calls_to("views.open")) > before)
    view = world.sim.last_view(user_id=user, callback_id="approve_for_terms")
    assert view is not None
    return view


def test_an_owner_approves_for_less_time_than_asked_and_says_why(world: Harness) -> None:
    # given ann asks for READ on payments for 4 hours
    request = world.request(ANN, "payments", [READ], duration="4h")
    assert "Approve for…" in world.message_text(request)
    # eve, who may not decide it, is told so instead of getting the modal
    assert world.click(EVE, "approve_for", request.id or 0).status_code == 200
    wait(lambda: any("Only the request's approvers" in t for t in world.ephemeral_texts(EVE)))

    # when bob opens "Approve for…": the choices go up to what was asked, all of it picked
    modal = approve_for_modal(world, BOB, request.id or 0)
    select = next(b for b in modal["blocks"] if b.get("block_id") == "duration")["element"]
    offered = [o["value"] for o in select["options"]]
    assert offered == ["30m", "1h", "2h", "4h"] and select["initial_option"]["value"] == "4h"
    # a crafted submission for more than was asked goes back into the modal, and nothing is decided
    crafted = world.slack.view_submission(BOB, modal, {
        "duration": {"duration": {"type": "static_select", "selected_option": {"value": "8h"}}},
        "reason": {"reason": {"type": "plain_text_input", "value": ""}}})
    assert "at most the 4 hours asked" in crafted.json()["errors"]["duration"]
    assert world.get(request.id or 0)[0].status is RequestStatus.PENDING
    # and he approves for 2 hours, with a reason
    answer = world.slack.submit(BOB, modal, {"duration": "2h", "reason": HOSTILE_REASON})
    assert answer.status_code == 200 and not answer.content

    # then ann gets 2 hours, and reads what was approved and why (the reason as text, no @here)
    grant = world.wait_grant(request, GrantStatus.ACTIVE)
    assert grant.expires_at == world.clock.now() + timedelta(hours=2)
    dm = wait(lambda: next((t for t in world.dm_texts(ANN) if "You now have" in t), None))  # granted at the click
    assert "approved by <@" in dm and "approved for 2 hours instead of the 4 hours asked" in dm
    assert "&lt;!here&gt;" in dm and "<!here>" not in dm
    text = world.wait_message(request, "instead of the 4 hours asked")
    assert "<!here>" not in text and f"<@{BOB}> for 2 hours" in text
    approved = world.audit("approved")[0]
    assert (approved.actor, approved.detail["seconds"], approved.detail["asked_seconds"]) == (BOB, 7200, 14400)
    assert approved.detail["reason"] == HOSTILE_REASON


def test_a_flow_that_requires_a_reason_gets_one(world: Harness) -> None:
    with world.runtime.store.unit_of_work() as uow:
        flow = uow.flows.get("prod-projects")
        assert flow is not None
        uow.flows.upsert(AccessFlowSpec.model_validate({**flow.model_dump(), "approval_reason": "required"}))
    request = world.request(ANN, "payments", [READ])
    # a plain Approve is refused with the way out
    world.click(BOB, "approve", request)
    wait(lambda: any("needs a reason with every approval" in t for t in world.ephemeral_texts(BOB)))
    assert world.get(request.id or 0)[0].status is RequestStatus.PENDING
    # "Approve for…" says the reason is needed, and refuses an empty one in the modal
    modal = approve_for_modal(world, BOB, request.id or 0)
    assert "needs a reason" in blocks_text({"blocks": [b for b in modal["blocks"] if b.get("hint")]}) or any(
        "needs a reason" in str(b.get("hint")) for b in modal["blocks"])
    empty = world.slack.submit(BOB, modal, {"duration": "1h", "reason": " "})
    assert "needs a reason" in empty.json()["errors"]["reason"]
    assert world.slack.submit(BOB, modal, {"duration": "1h", "reason": "INC-5: ok"}).status_code == 200
    world.wait_grant(request, GrantStatus.ACTIVE)
    wait(lambda: any("Reason from" in t and "INC-5: ok" in t for t in world.dm_texts(ANN)))

"""Stories: break-glass access is taken only by ticking "This is an emergency"; it is granted at once, announced
loudly, and reviewed by the owners (as they are when they click) afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from access.config import AccessFlowSpec
from access.model import GrantStatus, RequestStatus
from bot.slack_sim.payloads import state_values_for
from tests.e2e.harness import (
    ANN,
    BOB,
    CAT,
    DATA_READ,
    DATA_WRITE,
    EVE,
    JUSTIFICATION,
    READ,
    Harness,
    blocks_text,
    wait,
)

REVIEW = "break_glass_review"


@pytest.fixture
def glass_world(world: Harness) -> Iterator[Harness]:
    """The e2e world plus break-glass flows: data read-write on payments, and anything on a project `bunker`."""
    world.atlas.projects["bunker"] = world.sb.add_project(org_id=world.atlas.org_id, name="bunker",
                                                          tags={"owner": "payments-oncall"})
    with world.runtime.store.unit_of_work() as uow:
        for name, project in (("payments-break-glass", "payments"), ("bunker-break-glass", "bunker")):
            uow.flows.upsert(AccessFlowSpec.model_validate({
                "name": name, "integration": "prod", "resources": {"types": ["project"], "names": [project]},
                "roles": [DATA_WRITE, READ], "max_duration": "2h", "break_glass": True}))
    world.runtime.sync.run("prod")
    yield world


def buttons(world: Harness, request_id: int) -> list[str]:
    return [e["action_id"] for b in world.message(request_id)["blocks"] if b["type"] == "actions"
            for e in b["elements"]]


def test_break_glass_grants_at_once_and_the_owners_review_it_afterwards(glass_world: Harness) -> None:
    world = glass_world
    # given ann needs to write payments' data during an incident: only a break-glass flow offers that
    # and she ticks "This is an emergency"
    request = world.request(ANN, "payments", [DATA_WRITE], duration="1h", emergency=True)

    # then it is granted without anybody approving it
    grant = world.wait_grant(request, GrantStatus.ACTIVE)
    assert world.project_roles("payments", ANN) == {DATA_READ, DATA_WRITE}
    stored = world.get(request.id or 0)[0]
    assert stored.status is RequestStatus.APPROVED and stored.decided_by == "break_glass" and stored.break_glass
    # and the approval channel gets a loud message that mentions the owners and asks them to review
    message = world.message(request)
    text = blocks_text(message)
    assert message["blocks"][0]["type"] == "header" and "Break-glass access" in text
    assert message["text"].startswith(":rotating_light: BREAK-GLASS") and "<!subteam^S1>" in message["text"]
    assert "without approval" in text and "INC-4242" in text and "please review" in text.lower()
    assert buttons(world, request.id or 0) in ([REVIEW], [REVIEW, "grant_revoke"])  # Revoke now once it is live
    wait(lambda: "active until" in world.message_text(request))
    # and ann is told it is break-glass, with her access
    wait(lambda: any("Break-glass" in t for t in world.dm_texts(ANN)))
    wait(lambda: any("You now have" in t for t in world.dm_texts(ANN)))

    # when eve (not an owner) and ann herself click Reviewed, they are refused and the refusals are on record
    world.click(EVE, REVIEW, request)
    world.click(ANN, REVIEW, request)
    wait(lambda: any("Only the owners" in t for t in world.ephemeral_texts(EVE)))
    wait(lambda: any("your own break-glass" in t for t in world.ephemeral_texts(ANN)))
    assert buttons(world, request.id or 0) == [REVIEW, "grant_revoke"]

    # when bob (an owner) reviews it
    world.click(BOB, REVIEW, request)

    # then the review is recorded, the message says who and when without the button, and ann hears of it
    text = world.wait_message(request, "Reviewed by <@U2>")
    assert buttons(world, request.id or 0) == ["grant_revoke"]  # the owners may still end it
    reviewed = world.get(request.id or 0)[0]
    assert reviewed.reviewed_by == BOB and reviewed.reviewed_at == world.clock.now()
    wait(lambda: any("reviewed by <@U2>" in t for t in world.dm_texts(ANN)))
    # and a later click by cat finds it done
    world.click(CAT, REVIEW, request)
    wait(lambda: any("already reviewed by <@U2>" in t for t in world.ephemeral_texts(CAT)))
    actions = [(e.actor, e.action) for e in world.audit() if e.request_id == request.id]
    assert actions[:3] == [(ANN, "requested"), (ANN, "break_glass"), ("system", "granted")]
    assert sorted(actions[3:5]) == [(ANN, "refused"), (EVE, "refused")]  # their clicks were handled side by side
    assert actions[5:] == [(BOB, "break_glass_reviewed"), (CAT, "refused")]

    # and the access still ends on time
    world.expire(timedelta(hours=1))
    assert world.project_roles("payments", ANN) == {DATA_READ}
    assert world.get(request.id or 0)[1].status is GrantStatus.REVOKED  # type: ignore[union-attr]
    assert grant.expires_at == reviewed.created_at + timedelta(hours=1)


def test_an_ordinary_flow_is_preferred_when_it_covers_the_request(glass_world: Harness) -> None:
    world = glass_world
    # given both the ordinary flow and the break-glass one offer read-only on payments
    request = world.request(ANN, "payments", [READ], duration="1h")
    # then the ordinary flow is used: the request waits for an owner, with the usual buttons
    stored = world.get(request.id or 0)[0]
    assert stored.flow == "prod-projects" and not stored.break_glass and stored.status is RequestStatus.PENDING
    assert buttons(world, request.id or 0) == ["approve", "approve_for", "deny"]


def test_the_form_says_the_access_is_break_glass(glass_world: Harness) -> None:
    world = glass_world
    view = world.pick(ANN, world.open_modal(ANN), "bunker")
    assert "Only emergency (break-glass) access" in blocks_text(view)
    # and it cannot be taken without ticking the box
    response = world.submit(ANN, view, roles=[READ], duration="30m")
    assert "tick" in response.json()["errors"]["emergency"]
    # nor without saying why
    response = world.submit(ANN, view, roles=[READ], duration="30m", justification="", emergency=True)
    assert response.json()["errors"].keys() == {"justification"}
    assert world.row_count("access_request") == 0


# --- break-glass only by explicit choice ---------------------------------------------------------------------


@pytest.fixture
def day_glass_world(world: Harness) -> Iterator[Harness]:
    """The reported setup: the 8h ordinary flow on payments and a 1d break-glass flow on the same project."""
    with world.runtime.store.unit_of_work() as uow:
        uow.flows.upsert(AccessFlowSpec.model_validate({
            "name": "payments-emergency", "integration": "prod", "max_duration": "1d", "break_glass": True,
            "resources": {"types": ["project"], "names": ["payments"]}, "roles": [READ, DATA_READ]}))
    yield world


def emergency_block(view: dict[str, Any]) -> dict[str, Any] | None:
    return next((b for b in view["blocks"] if b.get("block_id") == "emergency"), None)


def test_twelve_hours_through_the_ordinary_modal_is_refused_not_broken_glass(day_glass_world: Harness) -> None:
    world = day_glass_world
    # given the modal for payments: it offers an emergency box, unticked, and says what ticking it does
    view = world.pick(ANN, world.open_modal(ANN), "payments")
    box = emergency_block(view)
    assert box is not None and box["optional"] and box["element"]["type"] == "checkboxes"
    assert "This is an emergency (break-glass)" in box["element"]["options"][0]["text"]["text"]
    assert not box["element"].get("initial_options")
    preview = blocks_text(view)
    assert "Approvers: <!subteam^S1> (resource owner)" in preview and "reviewed afterwards" in preview

    # when ann asks for 12h without ticking the box
    response = world.submit(ANN, view, roles=[READ], custom="12h")

    # then she is told the ordinary limit and that an emergency grant exists, and nothing happens
    error = response.json()["errors"]["duration_custom"]
    assert "The longest you may ask for is 8h" in error and "emergency (break-glass) grant of up to 1d" in error
    assert world.row_count("access_request") == 0 and world.row_count("grant") == 0
    assert world.project_roles("payments", ANN) == {DATA_READ}

    # when she ticks the box, it is break-glass: granted at once, announced, and the owners review it later
    request = world.request(ANN, "payments", [READ], custom="12h", emergency=True)
    world.wait_grant(request, GrantStatus.ACTIVE)
    stored = world.get(request.id or 0)[0]
    assert stored.flow == "payments-emergency" and stored.break_glass and stored.decided_by == "break_glass"
    assert world.message(request)["text"].startswith(":rotating_light: BREAK-GLASS")


def test_a_crafted_submission_without_the_box_never_gets_break_glass(day_glass_world: Harness) -> None:
    world = day_glass_world
    view = world.pick(ANN, world.open_modal(ANN), "payments")
    values = state_values_for(view, {"roles": [READ], "duration": "1h", "duration_custom": "12h",
                                     "justification": JUSTIFICATION})
    del values["emergency"]  # the box left out of the state altogether

    # when the view is submitted for 12h without the emergency box
    response = world.slack.view_submission(ANN, view, values)

    # then it is refused as an ordinary request would be
    assert "The longest you may ask for is 8h" in response.json()["errors"]["duration_custom"]
    assert world.row_count("access_request") == 0
    # and within the ordinary limit, it is an ordinary request waiting for the owners
    values["duration_custom"]["duration_custom"]["value"] = "2h"
    assert world.slack.view_submission(ANN, view, values).status_code == 200
    request = wait(lambda: world.posted(world.latest_request_id(ANN)))
    assert request.flow == "prod-projects" and not request.break_glass and request.status is RequestStatus.PENDING


@pytest.mark.parametrize("box", [
    {"type": "checkboxes", "selected_options": []},  # shown and left unticked
    {"type": "checkboxes", "selected_options": "emergency"},  # wrong types: never an emergency
    {"type": "checkboxes", "selected_options": ["emergency"]},
    {"type": "checkboxes", "selected_options": [{"value": "EMERGENCY"}]},
    {"type": "checkboxes", "selected_option": {"value": "emergency"}},
    {"type": "checkboxes"},
])
def test_only_the_ticked_box_itself_is_an_emergency(day_glass_world: Harness, box: dict[str, Any]) -> None:
    world = day_glass_world
    view = world.pick(ANN, world.open_modal(ANN), "payments")
    values: dict[str, Any] = state_values_for(view, {"roles": [READ], "duration_custom": "12h"})
    values["emergency"] = {"emergency": box}
    response = world.slack.view_submission(ANN, view, values)
    assert "The longest you may ask for is 8h" in response.json()["errors"]["duration_custom"]
    assert world.row_count("access_request") == 0


def test_a_ticked_box_takes_only_break_glass_flows(day_glass_world: Harness) -> None:
    world = day_glass_world
    # given a project with no break-glass flow: its modal shows no box
    view = world.pick(ANN, world.open_modal(ANN), "search")
    assert emergency_block(view) is None
    # when a crafted submission ticks an emergency box anyway, it is refused and nothing is stored
    values = state_values_for(view, {"roles": [READ], "duration": "1h", "justification": JUSTIFICATION})
    values["emergency"] = {"emergency": {"type": "checkboxes", "selected_options": [
        {"text": {"type": "plain_text", "text": "This is an emergency"}, "value": "emergency"}]}}
    response = world.slack.view_submission(ANN, view, values)
    assert "no emergency (break-glass) access" in response.json()["errors"]["resource"]
    assert world.row_count("access_request") == 0

    # and on payments, a ticked box past the break-glass maximum is refused with that maximum
    view = world.pick(ANN, world.open_modal(ANN), "payments")
    response = world.submit(ANN, view, roles=[READ], custom="2d", emergency=True)
    assert "The longest emergency (break-glass) grant is 1d" in response.json()["errors"]["duration_custom"]
    assert world.row_count("access_request") == 0


def test_the_emergency_command_opens_the_modal_with_the_box_ticked(day_glass_world: Harness) -> None:
    world = day_glass_world
    # when ann types `/atlas-access emergency` and picks payments
    before = len(world.sim.calls_to("views.open"))
    assert world.slack.command(ANN, text="emergency").status_code == 200
    wait(lambda: len(world.sim.calls_to("views.open")) > before)
    opened = world.sim.last_view(user_id=ANN, callback_id="access_request")
    assert opened is not None and "emergency" in blocks_text(opened).lower()
    view = world.pick(ANN, opened, "payments")

    # then the box is ticked already, and submitting as it stands breaks the glass
    box = emergency_block(view)
    assert box is not None and [o["value"] for o in box["element"]["initial_options"]] == ["emergency"]
    assert world.submit(ANN, view, roles=[READ], duration="1h").status_code == 200
    request = wait(lambda: world.posted(world.latest_request_id(ANN)))
    assert request.break_glass and request.flow == "payments-emergency"

    # and a project without break-glass says so instead of showing the box
    view = world.pick(ANN, world.sim.last_view(user_id=ANN, callback_id="access_request") or {}, "search")
    assert emergency_block(view) is None and "No emergency (break-glass) access" in blocks_text(view)


def test_a_removed_owner_cannot_review_and_a_new_one_can(glass_world: Harness) -> None:
    world = glass_world
    request = world.request(ANN, "payments", [DATA_WRITE], duration="1h", emergency=True)
    world.wait_grant(request, GrantStatus.ACTIVE)
    # when bob leaves @payments-oncall, eve joins it, and a minute passes
    world.sim.add_usergroup("S1", handle="payments-oncall", members=[CAT, EVE])
    world.clock.advance(timedelta(seconds=61))
    # then bob's review is refused and eve's counts, recorded with the group she qualified through
    world.click(BOB, REVIEW, request)
    wait(lambda: any("Only the owners" in t for t in world.ephemeral_texts(BOB)))
    assert world.get(request.id or 0)[0].reviewed_by is None
    world.click(EVE, REVIEW, request)
    world.wait_message(request, "Reviewed by <@U5>")
    reviewed = [e for e in world.audit("break_glass_reviewed") if e.request_id == request.id]
    assert [(e.actor, e.detail.get("via")) for e in reviewed] == [(EVE, "resource_owner:@payments-oncall")]

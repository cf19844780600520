"""Stories: the request modal — what it offers, what it refuses (as field errors), and who may use it."""

from __future__ import annotations

import pytest

from tests.e2e.harness import ANN, DATA_READ, FAY, READ, Harness, wait


def test_the_modal_offers_only_what_the_flows_allow(world: Harness) -> None:
    # given ann opens the modal
    view = world.open_modal(ANN)
    assert [b["block_id"] for b in view["blocks"]] == ["resource"]

    # then typing offers the matching resources, labelled with kind, organization and integration
    labels = [o["text"]["text"] for o in world.options(ANN, "", view)]
    assert "project payments · Acme · prod" in labels and "organization Acme · prod" in labels
    assert [o["text"]["text"] for o in world.options(ANN, "pay", view)] == ["project payments · Acme · prod"]

    # when she picks payments, the modal offers its roles, durations up to the flow's 8h, and the approvers
    view = world.pick(ANN, view, "payments")
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    assert [o["value"] for o in blocks["roles"]["element"]["options"]] == [READ, DATA_READ]
    durations = [o["value"] for o in blocks["duration"]["element"]["options"]]
    assert durations == ["30m", "1h", "2h", "4h", "8h"]
    assert blocks["resource"]["element"]["initial_option"]["value"].startswith("prod|")
    assert '"resource_id"' in view["private_metadata"] and "approv" not in view["private_metadata"]


@pytest.mark.parametrize(
    ("answers", "block", "words"),
    [
        ({"roles": []}, "roles", "at least one role"),
        ({"custom": "12h"}, "duration_custom", "longest you may ask for is 8h"),
        ({"custom": "soon"}, "duration_custom", "not a duration"),
        ({"justification": ""}, "justification", "Say why"),
        ({"justification": "x"}, "justification", "Say why"),
    ],
    ids=["no-roles", "over-the-maximum", "unreadable-duration", "blank-justification", "one-character"],
)
def test_invalid_answers_come_back_as_field_errors(world: Harness, answers: dict[str, object], block: str,
                                                   words: str) -> None:
    # given ann's modal for payments
    view = world.pick(ANN, world.open_modal(ANN), "payments")
    before = world.row_count("access_request")

    # when she submits it with one bad answer
    filled = {"roles": [READ], **answers}
    response = world.submit(ANN, view, **filled)  # type: ignore[arg-type]

    # then the ack points at that field, and nothing is stored or posted
    body = response.json()
    assert body["response_action"] == "errors" and list(body["errors"]) == [block]
    assert words in body["errors"][block]
    assert world.row_count("access_request") == before
    assert not world.sim.calls_to("chat.postMessage")


def test_a_person_without_an_email_is_told_politely(world: Harness) -> None:
    # given fay, whose Slack profile shows no email
    world.slack.command(FAY)

    # then the modal turns into an explanation, and she gets the same words ephemerally
    wait(lambda: world.sim.calls_to("views.update"))
    wait(lambda: any("email" in r.body.get("text", "") for r in world.sim.responses))
    notice = world.sim.calls_to("views.update")[-1].args
    assert "email" in str(notice["view"])
    assert world.row_count("access_request") == 0


def test_a_slack_connect_guest_cannot_use_the_bot(world: Harness) -> None:
    # given mallory, from another organisation's workspace in a shared channel
    response = world.slack.command("U9")
    assert response.status_code == 200

    # then the modal turns into a refusal at once, she is told ephemerally, and she is offered nothing
    wait(lambda: any("only members of this workspace" in r.body.get("text", "") for r in world.sim.responses))
    assert "only members of this workspace" in str(world.sim.calls_to("views.update")[-1].args["view"])
    view = world.sim.last_view(user_id="U9")
    assert view is not None and world.options("U9", "", view) == []


def test_a_guest_click_on_approve_is_refused(world: Harness) -> None:
    request = world.request(ANN, "payments", [READ])
    world.click("U9", "approve", request)
    wait(lambda: any("only members of this workspace" in t for t in world.ephemeral_texts("U9")))
    assert world.get(request.id or 0)[0].approvals == ()


def test_help_and_list_answer_only_the_person_asking(world: Harness) -> None:
    world.slack.command(ANN, text="help")
    help_text = wait(lambda: next((r.body for r in world.sim.responses if "list" in r.body.get("text", "")), None))
    assert help_text["response_type"] == "ephemeral"

    request = world.request(ANN, "payments", [READ])
    world.slack.command(ANN, text="list")
    listing = wait(lambda: next((r.body for r in world.sim.responses if "latest requests" in str(r.body)), None))
    assert listing["response_type"] == "ephemeral" and f"#{request.id}" in str(listing["blocks"])
    assert "pending" in str(listing["blocks"])


def test_a_requester_can_cancel_a_pending_request(world: Harness) -> None:
    request = world.request(ANN, "payments", [READ])
    world.slack.command(ANN, text=f"cancel {request.id}")
    wait(lambda: any(f"#{request.id} is cancelled" in r.body.get("text", "") for r in world.sim.responses))
    wait(lambda: "Cancelled by <@U1>" in world.message_text(request))

"""Stories: what a requester or approver types is shown as text wherever it goes, is kept without invisible
characters, and is held to the form's limits on the server; hostile values in a view's state get field errors,
never a 500.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.harness import ANN, BOB, CHANNEL, READ, Harness, blocks_text, wait

HOSTILE = ("Investigating <!channel> <@U0CAROL> <!subteam^S0HACK> "
           "<https://evil.example/login|https://cloud.mongodb.com/sso> \u202eoops\u202c \x00done")
LIVE = ("<!channel>", "<@U0CAROL>", "<!subteam^S0HACK>", "<https://evil.example")


def assert_inert(text: str) -> None:
    for token in LIVE:
        assert token not in text, token
    assert "\u202e" not in text and "\x00" not in text


def test_a_hostile_justification_and_deny_reason_are_shown_as_text(world: Harness) -> None:
    # given ann asks for payments with a justification that pings, mentions, links and hides
    request = world.request(ANN, "payments", [READ], justification=HOSTILE)

    # then it is stored without the invisible characters
    stored = world.get(request.id or 0)[0]
    assert "\x00" not in stored.justification and "\u202e" not in stored.justification
    assert "<!channel>" in stored.justification  # kept as she wrote it: it is data

    # and the approval message shows it to read, with nothing live
    text = world.message_text(request)
    assert "&lt;!channel&gt;" in text and "&lt;https://evil.example/login|https://cloud.mongodb.com/sso&gt;" in text
    assert_inert(text)

    # and the approver's App Home shows it inert too
    assert world.slack.app_home_opened(BOB).status_code == 200
    home = wait(lambda: next((c.args for c in reversed(world.sim.calls_to("views.publish"))
                              if c.args.get("user_id") == BOB and "Investigating" in str(c.args)), None))
    assert_inert(str(home["view"]))

    # when bob denies it with a reason that pings too
    assert world.deny(BOB, request, "No. <!here> see <https://evil.example|the runbook>").status_code == 200

    # then the reason reaches ann's DM and the channel's message as text
    dm = wait(lambda: next((t for t in world.dm_texts(ANN) if "denied" in t), None))
    assert "&lt;!here&gt;" in dm
    assert "<!here>" not in dm and "<https://evil" not in dm
    channel_text = world.wait_message(request, "Denied")
    assert "&lt;!here&gt;" in channel_text and "<!here>" not in channel_text
    posted = [c.args for c in world.sim.calls_to("chat.postMessage") + world.sim.calls_to("chat.update")]
    for args in posted:
        assert_inert(str(args.get("text", "")) + blocks_text(args))


@pytest.mark.parametrize(
    ("answers", "block", "words"),
    [
        ({"justification": "x" * 990_000}, "justification", "2000 characters"),
        ({"custom": "9" * 20}, "duration_custom", "longest allowed"),
        ({"custom": "9999999999d"}, "duration_custom", "longest allowed"),
        ({"custom": "366d"}, "duration_custom", "longer than 365d"),
        ({"custom": "1h" * 30}, "duration_custom", "not a duration"),
    ],
    ids=["justification-past-the-modal-limit", "twenty-nines", "ten-billion-days", "a-year-and-a-day",
         "longer-than-the-field"],
)
def test_crafted_answers_past_the_modal_get_field_errors(world: Harness, answers: dict[str, str], block: str,
                                                        words: str) -> None:
    # given ann's modal for payments, and a submission crafted past what the modal lets anyone type
    view = world.pick(ANN, world.open_modal(ANN), "payments")
    response = world.submit(ANN, view, roles=[READ], **answers)  # type: ignore[arg-type]

    # then the answer is a field error on that field, and nothing is stored or posted
    assert response.status_code == 200
    body = response.json()
    assert body["response_action"] == "errors" and words in body["errors"][block]
    assert world.row_count("access_request") == 0
    assert not world.sim.calls_to("chat.postMessage")


@pytest.mark.parametrize(
    "state",
    [
        {"roles": {"roles": {"type": "multi_static_select", "selected_options": "GROUP_READ_ONLY"}}},
        {"roles": {"roles": {"type": "multi_static_select", "selected_options": [7, None, ["x"]]}}},
        {"justification": {"justification": {"type": "plain_text_input", "value": ["a list"]}}},
        {"duration": {"duration": {"type": "static_select", "selected_option": "1h"}}},
        {"duration": {"duration": {"type": "static_select", "selected_option": {"value": 3600}}}},
        {"duration_custom": {"duration_custom": {"type": "plain_text_input", "value": 12}}},
        {"resource": {"resource": {"type": "external_select", "selected_option": {"value": {"a": 1}}}}},
    ],
    ids=["options-a-string", "options-not-objects", "text-a-list", "option-a-string", "value-a-number",
         "custom-a-number", "resource-an-object"],
)
def test_wrong_types_inside_a_view_state_get_a_field_error_not_a_500(world: Harness, state: dict[str, Any]) -> None:
    # given ann's modal for payments, submitted with one element of the wrong type
    view = world.pick(ANN, world.open_modal(ANN), "payments")
    values = {"roles": {"roles": {"type": "multi_static_select",
                                  "selected_options": [{"value": READ, "text": {"type": "plain_text", "text": READ}}]}},
              "duration": {"duration": {"type": "static_select", "selected_option": {"value": "1h"}}},
              "justification": {"justification": {"type": "plain_text_input", "value": "INC-1: need to look"}}}
    response = world.slack.view_submission(ANN, view, {**values, **state})

    # then the answer is a polite field error, and nothing is stored; or, where the bad element is an optional
    # one that Slack would have sent empty, the request goes on without it
    assert response.status_code == 200, response.text
    if response.content:
        assert response.json()["response_action"] == "errors"
        assert world.row_count("access_request") == 0


@pytest.mark.parametrize("value", ["9" * 30, "99999999999", "2147483648", "-1", "0", "1e3", "١٢"])
def test_ids_no_row_can_have_get_a_polite_answer(world: Harness, value: str) -> None:
    # given a button value or a form's metadata that names no row we could have stored
    request = world.request(ANN, "payments", [READ])

    # when bob clicks Approve on it, and ann types it after /atlas-access cancel
    assert world.slack.block_action(BOB, "approve", value, message=(CHANNEL, request.message_ts)).status_code == 200
    assert world.slack.command(ANN, text=f"cancel {value}").status_code == 200

    # then nothing changed, and nobody got a 500
    wait(lambda: any("Which request" in r.body.get("text", "") or "can't find" in r.body.get("text", "")
                     for r in world.sim.responses))
    assert world.get(request.id or 0)[0].status.value == "pending"

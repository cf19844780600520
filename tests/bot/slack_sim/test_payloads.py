"""Payload helpers: view state values shaped per element type, and response_url rules."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from slack_sdk import WebClient

from bot.clock import ManualClock
from bot.slack_sim import FakeSlackWebAPI, state_values_for


def label(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def option(value: str) -> dict[str, Any]:
    return {"text": label(value.upper()), "value": value}


VIEW = {
    "type": "modal", "callback_id": "request", "title": label("Request"), "submit": label("Go"),
    "blocks": [
        {"type": "input", "block_id": "why", "label": label("Why"),
         "element": {"type": "plain_text_input", "action_id": "why"}},
        {"type": "input", "block_id": "role", "label": label("Role"),
         "element": {"type": "static_select", "action_id": "role", "options": [option("read"), option("write")],
                     "initial_option": option("read")}},
        {"type": "input", "block_id": "roles", "label": label("Roles"),
         "element": {"type": "multi_static_select", "action_id": "roles",
                     "option_groups": [{"label": label("Project"), "options": [option("a"), option("b")]}]}},
        {"type": "input", "block_id": "who", "label": label("Who"),
         "element": {"type": "users_select", "action_id": "who"}},
        {"type": "input", "block_id": "where", "label": label("Where"),
         "element": {"type": "external_select", "action_id": "where"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "not an input"}},
    ],
}  # fmt: skip


def test_given_values_by_action_id_then_state_is_shaped_per_element_type() -> None:
    state = state_values_for(VIEW, {"why": "incident", "roles": ["b"], "who": "U2", "where": "payments"})
    assert state == {
        "why": {"why": {"type": "plain_text_input", "value": "incident"}},
        "role": {"role": {"type": "static_select", "selected_option": option("read")}},  # untouched: its initial option
        "roles": {"roles": {"type": "multi_static_select", "selected_options": [option("b")]}},
        "who": {"who": {"type": "users_select", "selected_user": "U2"}},
        "where": {"where": {"type": "external_select",
                            "selected_option": {"text": label("payments"), "value": "payments"}}},
    }  # fmt: skip


def test_left_out_inputs_are_empty_as_slack_sends_them() -> None:
    state = state_values_for(VIEW, {})
    assert state["why"]["why"]["value"] is None
    assert state["roles"]["roles"]["selected_options"] == []
    assert state["who"]["who"]["selected_user"] is None


def test_a_static_select_only_offers_its_options_and_unknown_action_ids_are_mistakes() -> None:
    with pytest.raises(ValueError, match="not an option"):
        state_values_for(VIEW, {"role": "admin"})
    with pytest.raises(ValueError, match="no input element"):
        state_values_for(VIEW, {"typo": "x"})
    assert "typo" not in str(state_values_for(VIEW, {"typo": None}))  # None for a field not on screen is harmless


def test_a_full_slack_shape_passes_through() -> None:
    shaped = {"type": "plain_text_input", "value": "as is"}
    assert state_values_for(VIEW, {"why": shaped})["why"]["why"] == shaped


def _post(url: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(url, json=body, timeout=5)


def test_a_response_url_takes_five_posts(sim: FakeSlackWebAPI) -> None:
    url = sim.new_response_url()
    assert [_post(url, {"text": str(i)}).status_code for i in range(6)] == [200] * 5 + [404]
    assert [post.body["text"] for post in sim.responses] == ["0", "1", "2", "3", "4"]


def test_a_response_url_expires_after_thirty_minutes(sim: FakeSlackWebAPI, clock: ManualClock) -> None:
    url = sim.new_response_url()
    clock.advance(30 * 60 + 1)
    answer = _post(url, {"text": "late"})
    assert (answer.status_code, answer.text) == (404, "expired_url")
    assert _post(sim.url + "/response/R-unknown", {"text": "x"}).status_code == 404


def test_a_response_url_refuses_too_many_blocks(sim: FakeSlackWebAPI) -> None:
    answer = _post(sim.new_response_url(), {"blocks": [{"type": "divider"}] * 51})
    assert answer.status_code == 400 and sim.responses == []


def test_delete_original_removes_the_clicked_message(sim: FakeSlackWebAPI, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="C1", text="x")
    _post(sim.new_response_url(channel="C1", message_ts=posted["ts"]), {"delete_original": True})
    assert sim.messages("C1") == []

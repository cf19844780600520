"""Views in the fake Slack: trigger_id rules, the modal stack, updates with hashes, and the Home tab."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.clock import ManualClock
from bot.slack_sim import FakeSlackWebAPI


def modal(title: str = "Request access", **extra: Any) -> dict[str, Any]:
    return {
        "type": "modal", "callback_id": "request", "title": {"type": "plain_text", "text": title},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Pick a project"}}], **extra,
    }  # fmt: skip


def error_of(call: Any) -> dict[str, Any]:
    with pytest.raises(SlackApiError) as raised:
        call()
    data: dict[str, Any] = raised.value.response.data  # type: ignore[assignment]
    return data


def test_given_a_fresh_trigger_when_opening_a_modal_then_it_is_stored_with_an_id(
    sim: FakeSlackWebAPI, client: WebClient
) -> None:
    opened = client.views_open(trigger_id=sim.new_trigger_id("U1"), view=modal(private_metadata="req-1"))["view"]
    assert opened["id"].startswith("V") and opened["hash"]
    stored = sim.views[opened["id"]]
    assert (stored["callback_id"], stored["private_metadata"], stored["state"]) == ("request", "req-1", {"values": {}})
    assert sim.last_view(user_id="U1", callback_id="request") == stored
    assert sim.last_view(user_id="U2") is None


@pytest.mark.parametrize("case", ["unknown", "reused", "stale"])
def test_a_trigger_id_is_good_once_for_three_seconds(
    sim: FakeSlackWebAPI, client: WebClient, clock: ManualClock, case: str
) -> None:
    trigger = sim.new_trigger_id("U1")
    if case == "unknown":
        trigger = "123.456.nope"
    elif case == "reused":
        client.views_open(trigger_id=trigger, view=modal())
    else:
        clock.advance(3.001)
    assert error_of(lambda: client.views_open(trigger_id=trigger, view=modal()))["error"] == "expired_trigger_id"


def test_a_trigger_id_just_under_three_seconds_old_still_works(
    sim: FakeSlackWebAPI, client: WebClient, clock: ManualClock
) -> None:
    trigger = sim.new_trigger_id("U1")
    clock.advance(2.999)
    assert client.views_open(trigger_id=trigger, view=modal())["ok"]


def test_a_view_without_type_is_refused_with_slacks_explanation(sim: FakeSlackWebAPI, client: WebClient) -> None:
    view = modal()
    del view["type"]
    answer = error_of(lambda: client.views_open(trigger_id=sim.new_trigger_id(), view=view))
    assert answer["error"] == "invalid_arguments"
    assert answer["response_metadata"]["messages"] == ["[ERROR] missing required field: type [json-pointer:/view/type]"]


def test_a_refused_view_does_not_use_up_the_trigger(sim: FakeSlackWebAPI, client: WebClient) -> None:
    trigger = sim.new_trigger_id()
    error_of(lambda: client.views_open(trigger_id=trigger, view=modal(title="x" * 25)))
    assert client.views_open(trigger_id=trigger, view=modal())["ok"]


def test_given_an_open_modal_when_updating_then_it_is_replaced_under_the_same_id(
    sim: FakeSlackWebAPI, client: WebClient
) -> None:
    opened = client.views_open(trigger_id=sim.new_trigger_id("U1"), view=modal())["view"]
    updated = client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal(title="Step 2"))["view"]
    assert updated["id"] == opened["id"] and updated["hash"] != opened["hash"]
    assert sim.views[opened["id"]]["title"]["text"] == "Step 2"
    stale = error_of(lambda: client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal()))
    assert stale["error"] == "hash_conflict"
    assert error_of(lambda: client.views_update(view_id="V404", view=modal()))["error"] == "not_found"


def test_views_update_by_external_id(sim: FakeSlackWebAPI, client: WebClient) -> None:
    client.views_open(trigger_id=sim.new_trigger_id(), view=modal(external_id="req-7"))
    client.views_update(external_id="req-7", view=modal(title="Found", external_id="req-7"))
    assert [v["title"]["text"] for v in sim.views.values()] == ["Found"]
    duplicate = error_of(lambda: client.views_open(trigger_id=sim.new_trigger_id(), view=modal(external_id="req-7")))
    assert duplicate["error"] == "duplicate_external_id"


def test_views_push_stacks_on_the_users_modal(sim: FakeSlackWebAPI, client: WebClient) -> None:
    root = client.views_open(trigger_id=sim.new_trigger_id("U1"), view=modal())["view"]
    pushed = client.views_push(trigger_id=sim.new_trigger_id("U1"), view=modal(title="Details"))["view"]
    assert (pushed["previous_view_id"], pushed["root_view_id"]) == (root["id"], root["id"])
    assert error_of(lambda: client.views_push(trigger_id="1.2.3", view=modal()))["error"] == "expired_trigger_id"


def test_views_publish_sets_the_users_home_tab(sim: FakeSlackWebAPI, client: WebClient) -> None:
    home = {"type": "home", "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "Your access"}}]}
    first = client.views_publish(user_id="U1", view=home)["view"]
    again = client.views_publish(user_id="U1", view={**home, "blocks": []})["view"]
    assert first["id"] == again["id"]
    assert sim.home("U1")["blocks"] == [] and sim.home("U2") is None  # type: ignore[index]
    assert error_of(lambda: client.views_publish(user_id="U404", view=home))["error"] == "user_not_found"
    assert error_of(lambda: client.views_publish(user_id="U1", view=modal()))["error"] == "invalid_arguments"


def test_views_open_refuses_a_home_view(sim: FakeSlackWebAPI, client: WebClient) -> None:
    answer = error_of(lambda: client.views_open(trigger_id=sim.new_trigger_id(), view={"type": "home", "blocks": []}))
    assert answer["error"] == "invalid_arguments"

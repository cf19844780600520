"""The fake enforces Slack's Block Kit and view limits: at the limit is accepted, one past it is refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.slack_sim import FakeSlackWebAPI
from bot.slack_sim.blocks import message_block_problems, view_problems


def text(value: str, kind: str = "plain_text") -> dict[str, Any]:
    return {"type": kind, "text": value}


def section(body: str = "x", **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": text(body, "mrkdwn"), **extra}


def button(label: str = "Approve", action_id: str = "approve", value: str = "1") -> dict[str, Any]:
    return {"type": "button", "text": text(label), "action_id": action_id, "value": value}


def options(count: int) -> list[dict[str, Any]]:
    return [{"text": text(f"option {i}"), "value": f"v{i}"} for i in range(count)]


def select(opts: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "static_select", "action_id": "pick", "placeholder": text("Pick"), "options": opts}


def modal(blocks: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"type": "modal", "title": text("Request access"), "blocks": blocks, **extra}


# (name, message blocks within the limit, the same one past it)
MESSAGE_CASES: list[tuple[str, Callable[[int], list[dict[str, Any]]], int]] = [
    ("50 blocks", lambda n: [{"type": "divider"}] * n, 50),
    ("section text 3000", lambda n: [section("x" * n)], 3000),
    ("button text 75", lambda n: [{"type": "actions", "elements": [button(label="b" * n)]}], 75),
    ("action_id 255", lambda n: [{"type": "actions", "elements": [button(action_id="a" * n)]}], 255),
    ("block_id 255", lambda n: [section(block_id="b" * n)], 255),
    ("select 100 options", lambda n: [{"type": "actions", "elements": [select(options(n))]}], 100),
    ("option text 75", lambda n: [section(accessory=select([{"text": text("o" * n), "value": "v"}]))], 75),
    ("option value 150", lambda n: [section(accessory=select([{"text": text("o"), "value": "v" * n}]))], 150),
]


@pytest.mark.parametrize(("name", "build", "limit"), MESSAGE_CASES, ids=[case[0] for case in MESSAGE_CASES])
def test_message_limits(client: WebClient, name: str, build: Callable[[int], Any], limit: int) -> None:
    assert message_block_problems(build(limit)) == []
    assert client.chat_postMessage(channel="C1", text="t", blocks=build(limit))["ok"]
    with pytest.raises(SlackApiError) as refused:
        client.chat_postMessage(channel="C1", text="t", blocks=build(limit + 1))
    assert refused.value.response["error"] == "invalid_blocks"
    assert refused.value.response["response_metadata"]["messages"]


VIEW_CASES: list[tuple[str, Callable[[int], dict[str, Any]], int]] = [
    ("100 blocks", lambda n: modal([{"type": "divider"}] * n), 100),
    ("title 24", lambda n: modal([], title=text("t" * n)), 24),
    ("submit 24", lambda n: modal([], submit=text("s" * n)), 24),
    ("close 24", lambda n: modal([], close=text("c" * n)), 24),
    ("private_metadata 3000", lambda n: modal([], private_metadata="m" * n), 3000),
    ("callback_id 255", lambda n: modal([], callback_id="c" * n), 255),
]


@pytest.mark.parametrize(("name", "build", "limit"), VIEW_CASES, ids=[case[0] for case in VIEW_CASES])
def test_view_limits(
    sim: FakeSlackWebAPI, client: WebClient, name: str, build: Callable[[int], dict[str, Any]], limit: int
) -> None:
    assert view_problems(build(limit)) == []
    assert client.views_open(trigger_id=sim.new_trigger_id(), view=build(limit))["ok"]
    with pytest.raises(SlackApiError) as refused:
        client.views_open(trigger_id=sim.new_trigger_id(), view=build(limit + 1))
    assert refused.value.response["error"] == "invalid_arguments"


def test_the_home_tab_takes_100_blocks_not_101(client: WebClient) -> None:
    assert client.views_publish(user_id="U1", view={"type": "home", "blocks": [{"type": "divider"}] * 100})["ok"]
    with pytest.raises(SlackApiError):
        client.views_publish(user_id="U1", view={"type": "home", "blocks": [{"type": "divider"}] * 101})


@pytest.mark.parametrize(
    ("blocks", "problem"),
    [
        ([section(block_id="a"), section(block_id="a")], "duplicate block_id: a"),
        ([{"type": "actions", "elements": [button(), button()]}], "duplicate action_id: approve"),
        ([{"type": "section"}], "must provide either text or fields"),
        ([section("")], "must be more than 0 characters"),
        ([{"type": "header", "text": text("h", "mrkdwn")}], "must be plain_text"),
        ([{"type": "actions", "elements": [{"type": "hologram"}]}], "unsupported element type: hologram"),
        ([{"type": "carousel"}], "unsupported block type: carousel"),
        ([{"type": "actions", "elements": [{**button(), "confirm": {"title": text("t"), "text": text("x" * 301)}}]}],
         "must be less than 301 characters"),
    ],
)  # fmt: skip
def test_other_block_mistakes_slack_refuses(blocks: list[dict[str, Any]], problem: str) -> None:
    assert any(problem in reported for reported in message_block_problems(blocks)), message_block_problems(blocks)


def test_a_modal_with_an_input_needs_a_submit_button() -> None:
    view = modal([{"type": "input", "label": text("Why"), "element": {"type": "plain_text_input", "action_id": "why"}}])
    assert view_problems(view) == [
        "[ERROR] submit is required when an input block is present [json-pointer:/view/submit]"
    ]
    assert view_problems({**view, "submit": text("Request")}) == []


def test_views_built_with_slack_sdk_models_pass() -> None:
    view = View(
        type="modal", callback_id="request", title="Request access", submit="Request", close="Cancel",
        blocks=[
            InputBlock(block_id="resource", label="Project", element=StaticSelectElement(
                action_id="resource", options=[Option(text=f"project {i}", value=f"p{i}") for i in range(100)])),
            InputBlock(block_id="why", label="Why", element=PlainTextInputElement(action_id="why", multiline=True)),
            SectionBlock(text="Roles", accessory=ButtonElement(text="Details", action_id="details", value="1")),
            ActionsBlock(elements=[ButtonElement(text="Approve", action_id="approve", value="r1", style="primary")]),
        ],
    )  # fmt: skip
    assert view_problems(view.to_dict()) == []

"""SlackDriver plays Slack against a real Bolt app, which talks back to the fake Web API: the whole loop."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs, urlencode
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from slack_bolt import Ack, App, Respond
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

from bot.slack_sim import FakeSlackWebAPI, SlackDriver, state_values_for
from tests.bot.slack_sim.conftest import TOKEN

SECRET = "sim-signing-secret"
REQUEST_MODAL = {
    "type": "modal", "callback_id": "request", "private_metadata": "flow-1",
    "title": {"type": "plain_text", "text": "Request access"}, "submit": {"type": "plain_text", "text": "Request"},
    "blocks": [
        {"type": "input", "block_id": "resource", "label": {"type": "plain_text", "text": "Project"},
         "element": {"type": "external_select", "action_id": "resource", "min_query_length": 1}},
        {"type": "input", "block_id": "why", "label": {"type": "plain_text", "text": "Why"},
         "element": {"type": "plain_text_input", "action_id": "why"}},
    ],
}  # fmt: skip
APPROVAL_BLOCKS = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "ann asks for GROUP_READ_ONLY on payments"}},
    {"type": "actions", "block_id": "decision", "elements": [
        {"type": "button", "action_id": "approve", "text": {"type": "plain_text", "text": "Approve"}, "value": "req-1"},
        {"type": "static_select", "action_id": "duration", "placeholder": {"type": "plain_text", "text": "For"},
         "options": [{"text": {"type": "plain_text", "text": f"{h} h"}, "value": f"{h}h"} for h in (1, 4, 8)]},
    ]},
]  # fmt: skip


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


def build_app(sim: FakeSlackWebAPI, seen: list[dict[str, Any]]) -> App:
    app = App(token=TOKEN, signing_secret=SECRET, client=WebClient(token=TOKEN, base_url=sim.url + "/api/"))

    @app.command("/atlas-access")
    def on_command(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        seen.append(body)
        client.views_open(trigger_id=body["trigger_id"], view=REQUEST_MODAL)
        respond(text="Opening the request form")

    @app.action("approve")
    @app.action("duration")
    def on_click(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        seen.append(body)
        respond(replace_original=True, text=f"Handled by <@{body['user']['id']}>")

    @app.action("resource")
    def on_pick(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        seen.append(body)

    @app.view("request")
    def on_submit(ack: Ack, body: dict[str, Any]) -> None:
        values = body["view"]["state"]["values"]
        if values["why"]["why"]["value"] == "because":
            ack(response_action="errors", errors={"why": "Say what you will do"})
            return
        ack()
        seen.append(body)

    @app.options("resource")
    def on_options(ack: Ack, body: dict[str, Any]) -> None:
        typed = body["value"]
        ack(options=[{"text": {"type": "plain_text", "text": f"{typed}-prod"}, "value": f"{typed}-prod"}])

    @app.event("app_home_opened")
    def on_home(event: dict[str, Any], client: WebClient) -> None:
        client.views_publish(user_id=event["user"], view={"type": "home", "blocks": [{"type": "divider"}]})

    return app


@pytest.fixture
def seen() -> list[dict[str, Any]]:
    return []


@pytest.fixture
def driver(sim: FakeSlackWebAPI, seen: list[dict[str, Any]]) -> Iterator[SlackDriver]:
    app = build_app(sim, seen)
    server = make_server(
        "127.0.0.1", 0, SlackRequestHandler(app), server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    with SlackDriver(f"http://127.0.0.1:{server.server_port}", SECRET, sim) as slack:
        yield slack
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_given_a_slash_command_when_the_app_opens_a_modal_then_the_sim_has_it(
    sim: FakeSlackWebAPI, driver: SlackDriver, seen: list[dict[str, Any]]
) -> None:
    assert driver.command("U1", text="request").status_code == 200
    view = sim.wait_for(lambda s: s.last_view(user_id="U1", callback_id="request"))
    assert view["private_metadata"] == "flow-1"
    assert sim.wait_for(lambda s: s.responses)[0].body["text"] == "Opening the request form"
    body = seen[0]
    assert (body["user_id"], body["user_name"], body["team_id"], body["channel_id"]) == ("U1", "ann", "T1", "C0GENERAL")


def test_given_an_approval_message_when_a_button_is_clicked_then_the_app_sees_the_click_and_replaces_it(
    sim: FakeSlackWebAPI, client: WebClient, driver: SlackDriver, seen: list[dict[str, Any]]
) -> None:
    posted = client.chat_postMessage(channel="C1", text="approval", blocks=APPROVAL_BLOCKS)
    assert driver.block_action("U2", "approve", "req-1", message=("C1", posted["ts"])).status_code == 200
    sim.wait_for(lambda s: s.message("C1", posted["ts"])["text"] == "Handled by <@U2>")
    body = seen[0]
    assert body["actions"][0]["value"] == "req-1" and body["actions"][0]["block_id"] == "decision"
    assert body["container"] == {
        "type": "message",
        "message_ts": posted["ts"],
        "channel_id": "C1",
        "is_ephemeral": False,
    }
    assert (body["user"]["team_id"], body["team"]["id"], body["message"]["blocks"]) == ("T1", "T1", APPROVAL_BLOCKS)
    assert sim.message("C1", posted["ts"])["blocks"] == []  # replace_original without blocks drops them


def test_a_pick_from_a_static_select_arrives_as_selected_option(
    sim: FakeSlackWebAPI, client: WebClient, driver: SlackDriver, seen: list[dict[str, Any]]
) -> None:
    posted = client.chat_postMessage(channel="C1", text="approval", blocks=APPROVAL_BLOCKS)
    with pytest.raises(ValueError, match="not an option"):
        driver.block_action("U2", "duration", "99h", message=posted.data)  # type: ignore[arg-type]
    driver.block_action("U2", "duration", "4h", message=posted.data)  # type: ignore[arg-type]
    sim.wait_for(lambda s: seen)
    action = seen[0]["actions"][0]
    assert (action["type"], action["selected_option"]["value"]) == ("static_select", "4h")


def test_a_pick_in_a_modal_carries_the_view_and_what_was_typed_so_far(
    sim: FakeSlackWebAPI, driver: SlackDriver, seen: list[dict[str, Any]]
) -> None:
    driver.command("U1")
    view = sim.wait_for(lambda s: s.last_view(user_id="U1", callback_id="request"))
    typed = state_values_for(view, {"why": "incident 7"})
    option = {"text": {"type": "plain_text", "text": "payments"}, "value": "p-1"}
    assert driver.block_action("U1", "resource", option, view=view, state=typed).status_code == 200
    body = sim.wait_for(lambda s: next((b for b in seen if b.get("type") == "block_actions"), None))
    assert body["container"] == {"type": "view", "view_id": view["id"]}
    assert body["actions"][0]["selected_option"] == option and body["actions"][0]["block_id"] == "resource"
    assert body["view"]["state"]["values"]["why"]["why"]["value"] == "incident 7"


def test_a_click_on_an_ephemeral_message_carries_a_response_url(
    sim: FakeSlackWebAPI, driver: SlackDriver, seen: list[dict[str, Any]]
) -> None:
    driver.block_action("U1", "approve", "req-9", channel_id="C1")
    sim.wait_for(lambda s: s.responses)
    assert seen[0]["container"]["is_ephemeral"] is True and seen[0]["channel"]["id"] == "C1"


def test_given_the_opened_modal_when_submitted_then_field_errors_or_success(
    sim: FakeSlackWebAPI, driver: SlackDriver, seen: list[dict[str, Any]]
) -> None:
    driver.command("U1")
    view = sim.wait_for(lambda s: s.last_view(user_id="U1", callback_id="request"))
    refused = driver.submit("U1", view, {"resource": "payments", "why": "because"})
    assert refused.json() == {"response_action": "errors", "errors": {"why": "Say what you will do"}}
    accepted = driver.submit("U1", view, {"resource": "payments", "why": "incident 42"})
    assert accepted.status_code == 200 and accepted.text == ""
    sim.wait_for(lambda s: len(seen) == 2)  # the listener carries on after its ack
    state = seen[-1]["view"]["state"]["values"]
    assert state["resource"]["resource"]["selected_option"]["value"] == "payments"
    assert seen[-1]["view"]["private_metadata"] == "flow-1" and seen[-1]["view"]["id"] == view["id"]


def test_an_options_load_gets_the_apps_options_in_the_ack(sim: FakeSlackWebAPI, driver: SlackDriver) -> None:
    driver.command("U1")
    view = sim.wait_for(lambda s: s.last_view(user_id="U1"))
    answer = driver.block_suggestion("U1", "resource", "pay", view)
    assert answer.json()["options"][0]["value"] == "pay-prod"


def test_app_home_opened_publishes_the_home_tab(sim: FakeSlackWebAPI, driver: SlackDriver) -> None:
    assert driver.app_home_opened("U1").status_code == 200
    assert sim.wait_for(lambda s: s.home("U1"))["blocks"] == [{"type": "divider"}]
    assert driver.event({"type": "app_home_opened", "user": "U1", "tab": "home"}, retry_num=1).status_code == 200


def test_forged_and_stale_signatures_are_refused_by_bolt(driver: SlackDriver) -> None:
    body = urlencode({"command": "/atlas-access", "user_id": "U1", "text": "", "team_id": "T1"}).encode()
    now = int(time.time())
    good = driver.signed_headers(body)
    assert driver.raw(body, {**good, "X-Slack-Signature": "v0=" + "0" * 64}).status_code == 401
    assert driver.raw(body, driver.signed_headers(body, ts=now - 600)).status_code == 401
    assert driver.raw(body + b"&text=tampered", good).status_code == 401
    assert driver.sign(body, now) == driver.signed_headers(body, ts=now)["X-Slack-Signature"]


def test_the_driver_never_shows_its_signing_secret(driver: SlackDriver) -> None:
    assert SECRET not in repr(driver)


def test_view_submission_payloads_are_form_encoded_json(sim: FakeSlackWebAPI) -> None:
    # Given a driver pointed at a URL that records the raw request
    received: list[bytes] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        received.append(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b""]

    server = make_server("127.0.0.1", 0, app, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    with SlackDriver(f"http://127.0.0.1:{server.server_port}", SECRET, sim) as slack:
        slack.view_submission("U1", {"id": "V1", "type": "modal", "callback_id": "c"}, {"b": {"a": {"type": "x"}}})
    thread.join(timeout=5)
    server.server_close()
    # Then the body is payload=<json> with the view state
    payload = json.loads(parse_qs(received[0].decode())["payload"][0])
    assert payload["type"] == "view_submission" and payload["view"]["state"]["values"] == {"b": {"a": {"type": "x"}}}

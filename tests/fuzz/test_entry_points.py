"""Fuzzing every Slack entry point with correctly signed, malformed, oversized and hostile payloads: the answer
is a 4xx or a polite reply, never a 5xx, and nothing changes (see `Fuzzed.check_nothing_changed`)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

import httpx
from hypothesis import given
from hypothesis import strategies as st

from tests.e2e.harness import EVE, SIGNING_SECRET
from tests.fuzz.conftest import FUZZ, Fuzzed
from tests.fuzz.strategies import ids, json_values, mangled, maybe, text

STRANGERS = st.sampled_from([EVE, "U9", "UNOBODY"])  # not an approver, Slack Connect guest, unknown to Slack
COMMANDS = st.sampled_from(["/atlas-access", "/atlas-admin", "/atlas-sync", "/atlas-audit", "/nope"])
ACTIONS = st.sampled_from(["approve", "deny", "resource", "break_glass_review", "roles", "duration", "nope"])
CALLBACKS = st.sampled_from(["access_request", "deny_reason", "admin_integration", "admin_flow", "nope"])
EVENTS = st.sampled_from(["app_home_opened", "message", "app_mention", "member_joined_channel", "tokens_revoked",
                          "app_uninstalled", "nope"])


def assert_polite(response: httpx.Response) -> None:
    """A 4xx, or a 200 whose body (if any) is what Slack expects: JSON, or nothing."""
    assert response.status_code < 500, (response.status_code, response.text[:300])
    if response.status_code == 200 and response.content and response.headers.get("content-type", "").startswith(
            "application/json"):
        assert isinstance(response.json(), dict)


def interaction(fuzzed: Fuzzed, payload: dict[str, Any]) -> httpx.Response:
    body = urlencode({"payload": json.dumps(payload)}).encode()
    return fuzzed.world.slack.raw(body, fuzzed.world.slack.signed_headers(body))


def common(fuzzed: Fuzzed, user: str, team: Any = "T1") -> dict[str, Any]:
    return {"user": {"id": user, "team_id": team, "name": "x"}, "team": {"id": team},
            "api_app_id": fuzzed.world.sim.app_id, "token": "sim-verification-token",
            "trigger_id": fuzzed.world.sim.new_trigger_id(user)}


def test_slash_commands(fuzzed: Fuzzed) -> None:
    sim = fuzzed.world.sim

    @FUZZ
    @given(command=COMMANDS, words=text, user=st.one_of(STRANGERS, ids), extra=st.dictionaries(text, text, max_size=2),
           team=maybe("T1"))
    def run(command: str, words: str, user: str, extra: dict[str, str], team: Any) -> None:
        fields = {"command": command, "text": words, "user_id": user, "user_name": "x", "team_id": str(team),
                  "channel_id": sim.general_channel, "trigger_id": sim.new_trigger_id(user),
                  "response_url": sim.new_response_url(), "api_app_id": sim.app_id} | extra
        body = urlencode(fields).encode()
        assert_polite(fuzzed.world.slack.raw(body, fuzzed.world.slack.signed_headers(body)))

    run()
    fuzzed.check_nothing_changed()


def test_block_actions(fuzzed: Fuzzed) -> None:
    world, request = fuzzed.world, fuzzed.request
    message = world.message(request)

    @FUZZ
    @given(action=ACTIONS, value=maybe(str(request.id)), user=STRANGERS, team=maybe("T1"), data=st.data())
    def run(action: str, value: Any, user: str, team: Any, data: st.DataObject) -> None:
        payload = {"type": "block_actions", **common(fuzzed, user, team),
                   "actions": [{"action_id": action, "block_id": "b", "type": "button", "value": value,
                                "selected_option": data.draw(maybe({"value": value}))}],
                   "container": {"type": "message", "channel_id": request.channel, "message_ts": request.message_ts},
                   "channel": {"id": request.channel}, "message": message,
                   "response_url": world.sim.new_response_url(channel=request.channel,
                                                              message_ts=request.message_ts)}
        assert_polite(interaction(fuzzed, data.draw(mangled(payload))))

    run()
    fuzzed.check_nothing_changed()


def test_view_submissions(fuzzed: Fuzzed) -> None:
    world, request = fuzzed.world, fuzzed.request
    project = world.atlas.projects["payments"]
    metadata = st.sampled_from([json.dumps({"integration": "prod", "resource_id": project}), str(request.id),
                                json.dumps({"request_id": request.id}), "{", "[]"])

    @FUZZ
    @given(callback=CALLBACKS, user=STRANGERS, meta=st.one_of(metadata, text), values=json_values,
           team=maybe("T1"), data=st.data())
    def run(callback: str, user: str, meta: str, values: Any, team: Any, data: st.DataObject) -> None:
        view = {"id": "V0FUZZ", "type": "modal", "callback_id": callback, "private_metadata": meta,
                "hash": "h", "blocks": [], "state": {"values": values}}
        payload = {"type": "view_submission", **common(fuzzed, user, team), "view": data.draw(mangled(view))}
        assert_polite(interaction(fuzzed, payload))

    run()
    fuzzed.check_nothing_changed()


def test_options_loads(fuzzed: Fuzzed) -> None:
    @FUZZ
    @given(action=ACTIONS, value=maybe("pay"), user=st.one_of(STRANGERS, ids), team=maybe("T1"), data=st.data())
    def run(action: str, value: Any, user: str, team: Any, data: st.DataObject) -> None:
        payload = {"type": "block_suggestion", **common(fuzzed, user, team), "action_id": action,
                   "block_id": action, "value": value, "view": {"id": "V0FUZZ", "callback_id": "access_request"}}
        response = interaction(fuzzed, data.draw(mangled(payload)))
        assert_polite(response)
        if response.status_code == 200 and response.content:
            options = response.json().get("options", [])
            assert all(len(o["text"]["text"]) <= 75 and len(o["value"]) <= 150 for o in options)

    run()
    fuzzed.check_nothing_changed()


def test_events(fuzzed: Fuzzed) -> None:
    world = fuzzed.world

    @FUZZ
    @given(kind=EVENTS, user=st.one_of(STRANGERS, ids), fields=st.dictionaries(text, json_values, max_size=3),
           data=st.data())
    def run(kind: str, user: str, fields: dict[str, Any], data: st.DataObject) -> None:
        event = {"type": kind, "user": user, "channel": "D0FUZZ", "tab": data.draw(maybe("home")),
                 "event_ts": "1.2"} | fields
        envelope = {"type": "event_callback", "token": "t", "team_id": data.draw(maybe("T1")),
                    "api_app_id": world.sim.app_id, "event": event, "event_id": data.draw(maybe("Ev1")),
                    "event_time": 1, "authorizations": data.draw(maybe([{"team_id": "T1", "user_id": "B1"}]))}
        body = json.dumps(data.draw(mangled(envelope))).encode()
        assert_polite(world.slack.raw(body, world.slack.signed_headers(body, content_type="application/json")))

    run()
    fuzzed.check_nothing_changed()


def test_malformed_bodies_signed_correctly(fuzzed: Fuzzed) -> None:
    world = fuzzed.world
    content_types = st.sampled_from(["application/x-www-form-urlencoded", "application/json", "text/plain",
                                     "multipart/form-data; boundary=x", ""])

    @FUZZ
    @given(body=st.one_of(st.binary(max_size=300), text.map(str.encode),
                          json_values.map(lambda v: json.dumps(v).encode()),
                          json_values.map(lambda v: urlencode({"payload": json.dumps(v)}).encode()),
                          st.dictionaries(text, text, max_size=4).map(lambda d: urlencode(d).encode())),
           content_type=content_types)
    def run(body: bytes, content_type: str) -> None:
        stamp = str(int(time.time()))
        signature = "v0=" + hmac.new(SIGNING_SECRET.encode(), b"v0:" + stamp.encode() + b":" + body,
                                     hashlib.sha256).hexdigest()  # bytes that are not UTF-8 get signed too
        headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}
        assert_polite(world.slack.raw(body, headers))

    run()
    fuzzed.check_nothing_changed()


def test_forged_signatures_are_refused_before_anything_happens(fuzzed: Fuzzed) -> None:
    world, request = fuzzed.world, fuzzed.request
    calls = len(world.sim.calls)
    click = {"type": "block_actions", **common(fuzzed, "U2"), "actions": [
        {"action_id": "approve", "block_id": "b", "type": "button", "value": str(request.id)}]}
    body = urlencode({"payload": json.dumps(click)}).encode()  # bob's approval: only the signature is wrong

    @FUZZ
    @given(signature=st.one_of(text, st.just(world.slack.signed_headers(b"other")["X-Slack-Signature"])),
           stamp=st.one_of(text, st.integers(-(2**63), 2**63).map(str)))
    def run(signature: str, stamp: str) -> None:
        headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": stamp,
                   "X-Slack-Signature": signature}
        headers = {k: "".join(c for c in v if " " <= c <= "~") for k, v in headers.items()}  # what HTTP carries
        response = world.slack.raw(body, headers)
        assert response.status_code in (400, 401), response.status_code

    run()
    assert len(world.sim.calls) == calls
    fuzzed.check_nothing_changed()


def test_slacks_ssl_check_is_still_answered(fuzzed: Fuzzed) -> None:
    # given Slack checking the certificate of the slash command's URL (not signed)
    response = fuzzed.world.slack.raw(b"ssl_check=1&token=x", {"Content-Type": "application/x-www-form-urlencoded"})
    # then it is answered 200 and nothing happens
    assert response.status_code == 200
    fuzzed.check_nothing_changed()


def test_oversized_bodies_are_refused_unread(fuzzed: Fuzzed) -> None:
    body = b"payload=" + b"A" * 1_100_000
    assert fuzzed.world.slack.raw(body, fuzzed.world.slack.signed_headers(body)).status_code == 413
    fuzzed.check_nothing_changed()

"""Stories: replayed clicks, clicks from another workspace or from nobody Slack knows, tampered button values and
`private_metadata`. Each is answered politely and changes nothing it should not."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from access.model import RequestStatus
from bot.slack import messages as words
from tests.e2e.harness import BOB, EVE, READ, wait
from tests.fuzz.conftest import Fuzzed


def _approve_body(fuzzed: Fuzzed, user: str, value: str) -> bytes:
    world, request = fuzzed.world, fuzzed.request
    user_entry = world.slack._user(user)  # the user as Slack describes them, home team included
    payload = {"type": "block_actions", "user": user_entry, "team": {"id": "T1"}, "api_app_id": world.sim.app_id,
               "trigger_id": world.sim.new_trigger_id(user),
               "container": {"type": "message", "channel_id": request.channel, "message_ts": request.message_ts},
               "channel": {"id": request.channel}, "message": world.message(request),
               "actions": [{"action_id": "approve", "block_id": "b", "type": "button", "value": value}]}
    return urlencode({"payload": json.dumps(payload)}).encode()


def _told(fuzzed: Fuzzed, user: str, phrase: str) -> bool:
    return any(phrase in text for text in fuzzed.world.ephemeral_texts(user))


def test_a_replayed_approval_approves_once(fuzzed: Fuzzed) -> None:
    # given bob's approval, captured with its valid signature; when it is sent three times within the window
    world = fuzzed.world
    body = _approve_body(fuzzed, BOB, str(fuzzed.request.id))
    headers = world.slack.signed_headers(body)
    assert [world.slack.raw(body, headers).status_code for _ in range(3)] == [200, 200, 200]

    # then the request is approved once, with one grant and one audit row of it
    wait(lambda: world.get(fuzzed.request.id or 0)[0].status is RequestStatus.APPROVED)
    fuzzed.settle()
    assert len(world.audit("approved")) == 1 and world.row_count("grant") == 1


def test_a_click_from_another_workspace_changes_nothing(fuzzed: Fuzzed) -> None:
    # when mallory, a Slack Connect guest from T2, clicks Approve in the shared channel
    assert fuzzed.world.slack.raw(*_signed(fuzzed, _approve_body(fuzzed, "U9", str(fuzzed.request.id)))).status_code \
        == 200

    # then she is told politely, and nothing changed
    wait(lambda: _told(fuzzed, "U9", words.FOREIGN_TEAM))
    fuzzed.check_nothing_changed()


def test_a_click_from_someone_slack_does_not_know_changes_nothing(fuzzed: Fuzzed) -> None:
    assert fuzzed.world.slack.raw(*_signed(fuzzed, _approve_body(fuzzed, "UNOBODY", str(fuzzed.request.id)))) \
        .status_code == 200
    # then the app tried to tell them (Slack cannot: user_not_found), and nothing changed
    wait(lambda: [c for c in fuzzed.world.sim.calls_to("chat.postEphemeral") if c.args.get("user") == "UNOBODY"])
    fuzzed.check_nothing_changed()


def test_tampered_button_values_change_nothing(fuzzed: Fuzzed) -> None:
    # when eve (no approver) clicks Approve on ann's request, and bob's button is edited to other ids
    world = fuzzed.world
    for user, value in [(EVE, str(fuzzed.request.id)), (BOB, "999"), (BOB, "-1"), (BOB, "1 OR 1=1"), (BOB, "")]:
        assert world.slack.raw(*_signed(fuzzed, _approve_body(fuzzed, user, value))).status_code == 200

    # then each is told why in words, and nothing changed
    wait(lambda: len(world.ephemeral_texts(BOB)) >= 4 and world.ephemeral_texts(EVE))
    assert all(text and "Traceback" not in text for text in world.ephemeral_texts(BOB) + world.ephemeral_texts(EVE))
    fuzzed.check_nothing_changed()


def test_tampered_private_metadata_changes_nothing(fuzzed: Fuzzed) -> None:
    world, request = fuzzed.world, fuzzed.request
    # given eve opens a deny modal of her own making, claiming ann's request in its metadata
    deny_view = {"id": "V0EVE", "type": "modal", "callback_id": "deny_reason", "private_metadata": str(request.id),
                 "hash": "h", "blocks": [],
                 "state": {"values": {"reason": {"reason": {"type": "plain_text_input", "value": "no"}}}}}
    assert world.slack.view_submission(EVE, deny_view, deny_view["state"]["values"]).status_code == 200
    # and a request modal whose metadata names a project Atlas never had, and an integration that does not exist
    for integration, resource in [("prod", "ffffffffffffffffffffffff"), ("other", world.atlas.projects["payments"])]:
        view = {"id": "V0EVE2", "type": "modal", "callback_id": "access_request", "hash": "h", "blocks": [],
                "private_metadata": json.dumps({"integration": integration, "resource_id": resource})}
        values = {"roles": {"roles": {"type": "checkboxes", "selected_options": [{"value": READ}]}},
                  "duration": {"duration": {"type": "static_select", "selected_option": {"value": "1h"}}},
                  "justification": {"justification": {"type": "plain_text_input", "value": "because"}}}
        response = world.slack.view_submission(EVE, view, values)
        # then the modal shows an error instead of closing
        assert response.status_code == 200 and response.json()["response_action"] == "errors"

    # then ann's request is still pending, and nothing changed
    assert world.get(request.id or 0)[0].status is RequestStatus.PENDING
    fuzzed.check_nothing_changed()


def _signed(fuzzed: Fuzzed, body: bytes) -> tuple[bytes, dict[str, str]]:
    return body, fuzzed.world.slack.signed_headers(body)

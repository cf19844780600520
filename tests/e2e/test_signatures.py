"""Stories: requests Slack did not sign (or signed too long ago) are refused before anything happens."""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx

from bot.app import build_runtime
from bot.web import server_thread
from tests.e2e.harness import ANN, Harness


def _command_body() -> bytes:
    return urlencode({"command": "/atlas-access", "text": "", "user_id": ANN, "team_id": "T1",
                      "trigger_id": "1.T1.forged", "response_url": "http://127.0.0.1:9/nowhere"}).encode()


def test_a_forged_signature_is_refused(world: Harness) -> None:
    body = _command_body()
    headers = world.slack.signed_headers(body)
    headers["X-Slack-Signature"] = "v0=" + "0" * 64
    response = world.slack.raw(body, headers)
    assert response.status_code == 401
    assert world.sim.calls == [] and world.row_count("access_request") == 0


def test_a_stale_timestamp_is_refused(world: Harness) -> None:
    body = _command_body()
    headers = world.slack.signed_headers(body, ts=int(time.time()) - 6 * 60)  # properly signed, 6 minutes old
    response = world.slack.raw(body, headers)
    assert response.status_code == 401
    assert world.sim.calls == [] and world.row_count("access_request") == 0


def test_a_forged_approval_click_changes_nothing(world: Harness) -> None:
    payload = {"type": "block_actions", "user": {"id": "U2", "team_id": "T1"}, "team": {"id": "T1"},
               "actions": [{"action_id": "approve", "value": "1", "type": "button", "block_id": "b"}]}
    body = urlencode({"payload": json.dumps(payload)}).encode()
    response = world.slack.raw(body, {"Content-Type": "application/x-www-form-urlencoded",
                                      "X-Slack-Request-Timestamp": str(int(time.time())),
                                      "X-Slack-Signature": "v0=deadbeef"})
    assert response.status_code == 401 and world.sim.calls == []


def test_health_and_unknown_paths(world: Harness) -> None:
    assert httpx.get(world.server.url + "/healthz").json() == {"ok": True}
    assert httpx.get(world.server.url + "/nope").status_code == 404
    assert httpx.get(world.server.url + "/slack/events").status_code == 405


def test_health_is_503_when_the_database_cannot_be_reached(world: Harness, tmp_path: Path) -> None:
    # given a runtime whose database lives in a directory that does not exist
    broken = world.settings.model_copy(update={"database_url": f"sqlite:///{tmp_path}/missing/dir/db.sqlite"})
    runtime = build_runtime(broken)
    with server_thread(runtime) as server:
        response = httpx.get(server.url + "/healthz")
    assert response.status_code == 503 and response.json() == {"ok": False, "error": "database_unreachable"}

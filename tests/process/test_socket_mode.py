"""Socket Mode: `serve --socket-mode` takes Slack's requests over the WebSocket Slack hands out, acks each within
Slack's 3 s, answers as over HTTP, and still serves /healthz and /metrics over HTTP for the operator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from storage.testing import sqlite_url
from tests.e2e.harness import ANN
from tests.process.world import ProcessWorld, wait

APP_TOKEN = "xapp-sim-app-token"  # noqa: S105 (the fake Slack's own app-level token)


def command(world: ProcessWorld, text: str) -> dict[str, Any]:
    """`/atlas-access <text>` from ann, as a Socket Mode `slash_commands` payload."""
    sim = world.sim
    return {
        "token": "sim-verification-token", "team_id": sim.team_id, "team_domain": "sim", "channel_id": "C0GENERAL",
        "channel_name": "general", "user_id": ANN, "user_name": "ann", "command": "/atlas-access", "text": text,
        "api_app_id": "A0SIM", "is_enterprise_install": "false", "trigger_id": sim.new_trigger_id(ANN),
        "response_url": sim.new_response_url(channel=None, message_ts=None),
    }  # fmt: skip


def test_socket_mode_answers_over_the_socket_and_reports_health_over_http(tmp_path: Path) -> None:
    world = ProcessWorld(tmp_path, database_url=sqlite_url(tmp_path, "process.db"))
    try:
        # given serve in Socket Mode (ready: /healthz answers over HTTP)
        app = world.spawn(env={"SLACK_APP_TOKEN": APP_TOKEN}, args=("--socket-mode",))

        # then it opened its socket with the app-level token
        assert world.sim.socket.connected(timeout=10)
        opened = [c for c in world.sim.calls if c.method == "apps.connections.open"]
        assert opened and all(c.ok for c in opened)

        # when ann asks for help over the socket, then the app acks within Slack's 3 s and answers her
        envelope = world.sim.socket.push("slash_commands", command(world, "help"))
        assert world.sim.socket.ack(envelope, timeout=3.0) is not None
        wait(lambda: any("/atlas-access" in str(r.body.get("text", "")) for r in world.sim.responses),
             what="the help reply")

        # when she types /atlas-access, then the request modal opens with her trigger (valid for 3 s)
        envelope = world.sim.socket.push("slash_commands", command(world, ""))
        assert world.sim.socket.ack(envelope, timeout=3.0) is not None
        wait(lambda: [c for c in world.sim.calls if c.method == "views.open" and c.ok], what="the modal")

        # and the operator's endpoints answer over HTTP
        assert httpx.get(app.url + "/healthz").json()["ok"] is True
        assert "atlas_access_grants_active" in httpx.get(app.url + "/metrics").text
    finally:
        world.close()

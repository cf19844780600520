"""SlackDriver: sends an app's `POST /slack/events` the signed requests Slack would send when people act."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import httpx
from slack_sdk.signature import SignatureVerifier

from bot.slack_sim import payloads
from bot.slack_sim.server import FakeSlackWebAPI

MessageRef = tuple[str, str] | Mapping[str, Any]  # (channel, ts) or a message dict from the sim
FORM = "application/x-www-form-urlencoded"


class SlackDriver:
    """Plays Slack's side of the Events API, slash commands and interactivity against a running app.

    Trigger ids come from the sim (so `views.open` is held to Slack's 3-second rule) and response_urls point
    at it (posts land in `sim.responses`). Every method returns the app's `httpx.Response` (its ack).
    """

    def __init__(
        self, app_url: str, signing_secret: str, sim: FakeSlackWebAPI, team_id: str = "T1", *, timeout: float = 10.0
    ) -> None:
        self._events_url = app_url.rstrip("/") + "/slack/events"
        self._verifier = SignatureVerifier(signing_secret)
        self._sim = sim
        self._team_id = team_id
        self._http = httpx.Client(timeout=timeout)
        self._event_ids = itertools.count(1)
        self.extra_headers: dict[str, str] = {}  # sent with every request (a proxy's X-Request-Id, say)

    def __repr__(self) -> str:
        return f"SlackDriver({self._events_url!r})"  # never the signing secret

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SlackDriver:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # signing and raw delivery

    def sign(self, body: bytes, ts: int | str) -> str:
        """`v0=` + HMAC-SHA256 of `v0:{ts}:{body}` with the signing secret, as in X-Slack-Signature."""
        signature = self._verifier.generate_signature(timestamp=str(ts), body=body)
        assert signature is not None
        return signature

    def signed_headers(self, body: bytes, *, content_type: str = FORM, ts: int | None = None) -> dict[str, str]:
        stamp = str(ts if ts is not None else int(time.time()))
        return {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": self.sign(body, stamp),
        }

    def raw(self, body: bytes, headers: Mapping[str, str]) -> httpx.Response:
        """Post exactly these bytes and headers (forged or stale signatures, retries)."""
        return self._http.post(self._events_url, content=body, headers={**self.extra_headers, **headers})

    def _form(self, fields: Mapping[str, str]) -> httpx.Response:
        body = urlencode(fields).encode("utf-8")
        return self.raw(body, self.signed_headers(body))

    def _interaction(self, payload: Mapping[str, Any]) -> httpx.Response:
        return self._form({"payload": json.dumps(payload)})

    # who acts

    def _user(self, user_id: str) -> dict[str, Any]:
        known = self._sim.user(user_id) or {}
        name = str(known.get("name", user_id.lower()))
        return {"id": user_id, "username": name, "name": name, "team_id": known.get("team_id", self._team_id)}

    def _common(self, user_id: str) -> dict[str, Any]:
        return {
            "user": self._user(user_id), "team": {"id": self._team_id, "domain": "sim"}, "api_app_id": self._sim.app_id,
            "token": "sim-verification-token", "enterprise": None, "is_enterprise_install": False,
        }  # fmt: skip

    # what people do

    def command(
        self, user_id: str, command: str = "/atlas-access", text: str = "", channel_id: str | None = None
    ) -> httpx.Response:
        channel = channel_id or self._sim.general_channel
        channel_name = str((self._sim.channel_info(channel) or {}).get("name", "directmessage"))
        user = self._user(user_id)
        return self._form({
            "token": "sim-verification-token", "team_id": self._team_id, "team_domain": "sim",
            "channel_id": channel, "channel_name": channel_name, "user_id": user_id, "user_name": user["name"],
            "command": command, "text": text, "api_app_id": self._sim.app_id, "is_enterprise_install": "false",
            "response_url": self._sim.new_response_url(channel=None, message_ts=None),
            "trigger_id": self._sim.new_trigger_id(user_id),
        })  # fmt: skip

    def block_action(
        self,
        user_id: str,
        action_id: str,
        value: Any,
        *,
        message: MessageRef | None = None,
        view: Mapping[str, Any] | None = None,
        block_id: str = "b",
        trigger_id: str | None = None,
        channel_id: str | None = None,
        state: Mapping[str, Any] | None = None,
    ) -> httpx.Response:
        """A click (or a pick) on an element of a stored message, of a view, or else of an ephemeral message.

        When the element is on the surface, its real block_id and type are used, and `value` becomes the shape
        that type sends (e.g. `selected_option` for a select). `state` is what the person has entered in the
        view's inputs so far (`{block_id: {action_id: {...}}}`, see `state_values_for`).
        """
        values = dict(state or {})
        payload: dict[str, Any] = {
            "type": "block_actions", **self._common(user_id),
            "trigger_id": trigger_id or self._sim.new_trigger_id(user_id), "state": {"values": values},
        }  # fmt: skip
        blocks = self._surface(payload, message=message, view=view, channel_id=channel_id)
        if view is not None:
            payload["view"]["state"] = {"values": values}
        found = payloads.find_element(blocks, action_id)
        real_block_id, element = found if found else (block_id, None)
        payload["actions"] = [
            payloads.action_entry(action_id=action_id, block_id=real_block_id, value=value, element=element)
        ]
        return self._interaction(payload)

    def _surface(
        self, payload: dict[str, Any], *, message: MessageRef | None, view: Mapping[str, Any] | None,
        channel_id: str | None,
    ) -> Any:  # fmt: skip
        """Fill container/message/view/channel/response_url as Slack does; return the clicked surface's blocks."""
        if view is not None:
            payload["container"] = {"type": "view", "view_id": view.get("id")}
            payload["view"] = dict(view)
            return view.get("blocks")
        if message is not None:
            channel, ts = message if isinstance(message, tuple) else (str(message["channel"]), str(message["ts"]))
            clicked = self._sim.message(channel, ts)
            payload["container"] = {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": False}
            payload["message"] = clicked
        else:
            channel, ts = channel_id or self._sim.general_channel, payloads.action_ts()
            payload["container"] = {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": True}
            clicked = {}
        channel_name = str((self._sim.channel_info(channel) or {}).get("name", "directmessage"))
        payload["channel"] = {"id": channel, "name": channel_name}
        bound = (channel, ts) if message is not None else (None, None)
        payload["response_url"] = self._sim.new_response_url(channel=bound[0], message_ts=bound[1])
        return clicked.get("blocks")

    def view_submission(self, user_id: str, view: Mapping[str, Any], values: Mapping[str, Any]) -> httpx.Response:
        """Submit a view (as the app opened it, e.g. from `sim.views`) with `{block_id: {action_id: {...}}}`."""
        submitted = {**dict(view), "state": {"values": dict(values)}}
        payload = {
            "type": "view_submission", **self._common(user_id), "trigger_id": self._sim.new_trigger_id(user_id),
            "view": submitted, "response_urls": [],
        }  # fmt: skip
        return self._interaction(payload)

    def submit(self, user_id: str, view: Mapping[str, Any], values: Mapping[str, Any]) -> httpx.Response:
        """view_submission with values given per action_id, filled into the view's input blocks."""
        return self.view_submission(user_id, view, payloads.state_values_for(view, values))

    def view_closed(self, user_id: str, view: Mapping[str, Any]) -> httpx.Response:
        payload = {"type": "view_closed", **self._common(user_id), "view": dict(view), "is_cleared": False}
        return self._interaction(payload)

    def block_suggestion(
        self, user_id: str, action_id: str, value: str, view: Mapping[str, Any] | None = None
    ) -> httpx.Response:
        """An options load for an external_select as the person types `value`."""
        found = payloads.find_element(view.get("blocks") if view else None, action_id)
        payload: dict[str, Any] = {
            "type": "block_suggestion", **self._common(user_id), "action_id": action_id,
            "block_id": found[0] if found else "b", "value": value,
        }  # fmt: skip
        if view is not None:
            payload["container"] = {"type": "view", "view_id": view.get("id")}
            payload["view"] = dict(view)
        return self._interaction(payload)

    def event(
        self, event: Mapping[str, Any], *, event_id: str | None = None, retry_num: int | None = None
    ) -> httpx.Response:
        """An Events API delivery; pass the same event_id and a retry_num to replay it as Slack's retries do."""
        envelope = payloads.event_envelope(
            event=event, team_id=self._team_id, app_id=self._sim.app_id, bot_user_id=self._sim.bot_user_id,
            event_id=event_id or f"Ev0SIM{next(self._event_ids):06d}",
        )  # fmt: skip
        body = json.dumps(envelope).encode("utf-8")
        headers = self.signed_headers(body, content_type="application/json")
        if retry_num is not None:
            headers |= {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        return self.raw(body, headers)

    def app_home_opened(self, user_id: str) -> httpx.Response:
        event = {
            "type": "app_home_opened", "user": user_id, "channel": self._sim.im_channel(user_id), "tab": "home",
            "event_ts": payloads.action_ts(),
        }  # fmt: skip
        return self.event(event)

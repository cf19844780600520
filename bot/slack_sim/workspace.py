"""The state of the fake Slack workspace: directory, conversations, messages, views, triggers, files, responses."""

from __future__ import annotations

import itertools
import json
import threading
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.slack_sim.blocks import message_block_problems
from bot.slack_sim.records import ResponsePost, ResponseUrl, SlackError, Trigger, UploadedFile

TRIGGER_LIFETIME = timedelta(seconds=3)
RESPONSE_URL_LIFETIME = timedelta(minutes=30)
RESPONSE_URL_USES = 5


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass(kw_only=True)
class PendingUpload:
    file_id: str
    filename: str
    length: int
    content: bytes | None = None


class Workspace:
    """Everything the fake remembers; callers hold `lock` while reading or changing it."""

    def __init__(self, *, clock: Clock, team_id: str, bot_user_id: str, bot_id: str, app_id: str) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.team_id, self.bot_user_id, self.bot_id, self.app_id = team_id, bot_user_id, bot_id, app_id
        self.public_url = ""  # set when the HTTP server is bound
        self.users: dict[str, dict[str, Any]] = {}
        self.usergroups: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.ims: dict[str, str] = {}  # user id -> IM channel id
        self.messages: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.ephemerals: list[dict[str, Any]] = []
        self.views: dict[str, dict[str, Any]] = {}
        self.view_users: dict[str, str | None] = {}
        self.homes: dict[str, dict[str, Any]] = {}
        self.triggers: dict[str, Trigger] = {}
        self.uploads: dict[str, PendingUpload] = {}
        self.uploaded_files: list[UploadedFile] = []
        self.response_urls: dict[str, ResponseUrl] = {}
        self.response_uses: dict[str, int] = defaultdict(int)
        self.responses: list[ResponsePost] = []
        self.channel_burst: int | None = 20
        self._recent_posts: dict[str, deque[float]] = defaultdict(deque)
        self._ids = itertools.count(1)

    # ids and time

    def now(self) -> datetime:
        return self.clock.now()

    def new_id(self, prefix: str) -> str:
        return f"{prefix}0SIM{next(self._ids):06d}"

    def new_ts(self) -> str:
        # The counter keeps ts unique even when a manual clock stands still.
        return f"{int(self.now().timestamp())}.{next(self._ids):06d}"

    # directory

    def user(self, user_id: Any) -> dict[str, Any]:
        if not isinstance(user_id, str) or user_id not in self.users:
            raise SlackError("user_not_found")
        return self.users[user_id]

    def im_channel(self, user_id: str) -> str:
        """The app's DM channel with a user, opened on first use as Slack does."""
        self.user(user_id)
        if user_id not in self.ims:
            channel_id = self.new_id("D")
            self.ims[user_id] = channel_id
            self.channels[channel_id] = {"id": channel_id, "is_im": True, "user": user_id, "name": user_id}
        return self.ims[user_id]

    def channel(self, channel_id: Any, *, user_ids_open_dm: bool = False) -> str:
        """A known channel id; a user id opens the DM only where Slack allows it (chat.postMessage)."""
        if isinstance(channel_id, str) and channel_id in self.channels:
            return channel_id
        if user_ids_open_dm and isinstance(channel_id, str) and channel_id in self.users:
            return self.im_channel(channel_id)
        raise SlackError("channel_not_found")

    # messages

    def find_message(self, channel_id: str, ts: Any) -> dict[str, Any]:
        for message in self.messages.get(channel_id, []):
            if message["ts"] == ts:
                return message
        raise SlackError("message_not_found")

    def store_message(self, channel_id: str, *, text: str, blocks: list[Any] | None, **extra: Any) -> dict[str, Any]:
        message = {
            "type": "message", "channel": channel_id, "ts": self.new_ts(), "text": text, "blocks": blocks or [],
            "user": self.bot_user_id, "bot_id": self.bot_id, "app_id": self.app_id, "team": self.team_id, **extra,
        }  # fmt: skip
        self.messages[channel_id].append(message)
        return message

    def check_channel_rate(self, channel_id: str, moment: float) -> None:
        """Slack allows about one message a second per channel with short bursts; beyond the burst, 429."""
        if self.channel_burst is None:
            return
        recent = self._recent_posts[channel_id]
        while recent and moment - recent[0] >= 1.0:
            recent.popleft()
        if len(recent) >= self.channel_burst:
            raise SlackError("ratelimited", status=429, retry_after=1)
        recent.append(moment)

    # triggers and response_urls

    def issue_trigger(self, user_id: str | None) -> str:
        trigger_id = f"{next(self._ids)}.{self.team_id}.{self.new_id('t').lower()}"
        self.triggers[trigger_id] = Trigger(trigger_id=trigger_id, issued_at=self.now(), user_id=user_id)
        return trigger_id

    def use_trigger(self, trigger_id: Any) -> Trigger:
        trigger = self.triggers.get(trigger_id) if isinstance(trigger_id, str) else None
        if trigger is None or trigger.used or self.now() - trigger.issued_at > TRIGGER_LIFETIME:
            raise SlackError("expired_trigger_id")
        trigger.used = True
        return trigger

    def issue_response_url(self, *, channel: str | None, message_ts: str | None) -> str:
        key = self.new_id("R")
        url = f"{self.public_url}/response/{key}"
        self.response_urls[key] = ResponseUrl(url=url, issued_at=self.now(), channel=channel, message_ts=message_ts)
        return url

    def receive_response(self, key: str, body: dict[str, Any]) -> tuple[int, str]:
        """A post to a response_url: at most 5 within 30 minutes; may replace or delete the clicked message."""
        bound = self.response_urls.get(key)
        if bound is None:
            return 404, "no_service"
        if self.now() - bound.issued_at > RESPONSE_URL_LIFETIME:
            return 404, "expired_url"
        if self.response_uses[key] >= RESPONSE_URL_USES:
            return 404, "used_url"
        problems = self._response_problems(body)
        if problems:
            return 400, "invalid_blocks: " + "; ".join(problems)
        self.response_uses[key] += 1
        self.responses.append(ResponsePost(url=bound.url, body=body, ts=self.now().timestamp()))
        self._apply_response(bound, body)
        return 200, "ok"

    def _response_problems(self, body: dict[str, Any]) -> list[str]:
        return message_block_problems(body["blocks"]) if "blocks" in body else []

    def _apply_response(self, bound: ResponseUrl, body: dict[str, Any]) -> None:
        if bound.channel is None or bound.message_ts is None:
            return
        if _truthy(body.get("delete_original")):
            self.messages[bound.channel] = [m for m in self.messages[bound.channel] if m["ts"] != bound.message_ts]
        elif _truthy(body.get("replace_original")):
            try:
                message = self.find_message(bound.channel, bound.message_ts)
            except SlackError:
                return
            message["text"] = body.get("text", "")
            message["blocks"] = body.get("blocks", [])

    # files

    def receive_upload(self, file_id: str, content: bytes) -> tuple[int, str]:
        pending = self.uploads.get(file_id)
        if pending is None:
            return 404, "not found"
        pending.content = content
        return 200, f"OK - {len(content)}"


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in ("true", "1"))


def parse_json_arg(args: dict[str, Any], name: str, *, error: str) -> Any:
    """Form-encoded calls carry blocks, views and file lists as JSON strings; JSON calls carry them as values."""
    value = args.get(name)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise SlackError(error, messages=[f"[ERROR] {name} is not valid JSON: {exc.msg}"]) from exc
    return value

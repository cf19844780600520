"""What the fake Slack records and answers with: calls, uploads, response_url posts, and Slack-style errors."""

from __future__ import annotations

import contextlib
import copy
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, kw_only=True)
class SlackCall:
    """One Web API call as the fake received it (the token is never kept)."""

    method: str
    args: dict[str, Any]
    ok: bool
    error: str | None
    ts: float  # the sim clock's epoch seconds when the call arrived


@dataclass(frozen=True, kw_only=True)
class UploadedFile:
    """A file shared through files.getUploadURLExternal + upload + files.completeUploadExternal."""

    file_id: str
    filename: str
    title: str | None
    content: bytes = field(repr=False)
    channel_id: str | None
    initial_comment: str | None


@dataclass(frozen=True, kw_only=True)
class ResponsePost:
    """A post the app made to a response_url the driver handed out."""

    url: str
    body: dict[str, Any]
    ts: float


@dataclass(frozen=True, kw_only=True)
class ResponseUrl:
    """A response_url: up to 5 uses within 30 minutes; bound to the clicked message when there was one."""

    url: str
    issued_at: datetime
    channel: str | None
    message_ts: str | None


@dataclass(kw_only=True)
class Trigger:
    """A trigger_id: usable once, for 3 seconds, to open or push a view."""

    trigger_id: str
    issued_at: datetime
    user_id: str | None
    used: bool = False


class SlackError(Exception):
    """A Web API failure, answered as `{"ok": false, "error": ...}` (with the HTTP status and headers Slack sets)."""

    def __init__(
        self,
        error: str,
        *,
        messages: tuple[str, ...] | list[str] = (),
        status: int = 200,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.messages = tuple(messages)
        self.status = status
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"ok": False, "error": self.error}
        if self.messages:
            answer["response_metadata"] = {"messages": list(self.messages)}
        return answer


@dataclass(kw_only=True)
class Fault:
    """A failure injected with `fail_next` for the next `count` calls of a method."""

    error: str
    status: int
    retry_after: int | None
    count: int

    def to_error(self) -> SlackError:
        return SlackError(self.error, status=self.status, retry_after=self.retry_after)


def readable_args(args: dict[str, Any]) -> dict[str, Any]:
    """A copy of a call's arguments for `calls`, with form-encoded JSON fields (blocks, view, ...) decoded."""
    recorded = copy.deepcopy(args)
    for key in ("blocks", "view", "attachments", "files"):
        if isinstance(recorded.get(key), str):
            # Malformed JSON is kept as sent; the method itself answers it.
            with contextlib.suppress(json.JSONDecodeError):
                recorded[key] = json.loads(recorded[key])
    return recorded

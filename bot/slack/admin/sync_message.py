"""The one Slack message a sync posts and keeps up to date: running counts while Atlas is read, then a summary.

Progress arrives from discovery's threads many times a second; the message is updated at most every `every`
seconds (chat.update is a tier 3 method) by whichever thread gets there first, the others move on at once.
The final text of each integration is always sent. Slack failures are logged and never stop the sync.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from bot.slack.views import SECTION_TEXT, clip

log = logging.getLogger(__name__)
KINDS = ("organizations", "projects", "clusters", "users")


def counts_words(counts: dict[str, int]) -> str:
    return ", ".join(f"{counts.get(kind, 0)} {kind}" for kind in KINDS)


class ProgressMessage:
    def __init__(self, *, client: WebClient, title: str, names: list[str], every: float,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._title = title
        self._sections = {name: f":hourglass: *{name}*: waiting for its turn" for name in names}
        self._counts: dict[str, dict[str, int]] = {}
        self._every = every
        self._monotonic = monotonic
        self._last = 0.0
        self._lock = threading.Lock()  # one chat.update at a time, in order
        self._state = threading.Lock()  # the texts and counts, written by several threads
        self._where: tuple[str, str] | None = None

    @property
    def where(self) -> tuple[str, str] | None:
        """(channel, ts) of the message once posted."""
        return self._where

    def post(self, *, channel: str | None, user_id: str) -> bool:
        """Post in `channel`, or as a DM when there is none or the bot may not post there."""
        for target in ([channel] if channel else []) + [user_id]:
            try:
                text, blocks = self._content()
                answer = self._client.chat_postMessage(channel=target, text=text, blocks=blocks)
            except SlackApiError as error:
                log.info("posting the sync message in %s failed: %s", target, error.response.get("error"))
                continue
            self._where = (str(answer["channel"]), str(answer["ts"]))
            self._last = self._monotonic()
            return True
        return False

    def progress(self, name: str, kind: str, counts: dict[str, int]) -> None:
        """Discovery counted more (called from its threads): show it, if the last update is old enough."""
        try:
            with self._state:
                merged = self._merge(name, counts)
                self._sections[name] = f":arrows_counterclockwise: *{name}*: reading Atlas… {counts_words(merged)}"
            if self._monotonic() - self._last >= self._every and self._lock.acquire(blocking=False):
                try:
                    self._send()
                finally:
                    self._lock.release()
        except Exception:  # a progress display must never break the sync it displays
            log.exception("updating the sync message failed")

    def _merge(self, name: str, counts: dict[str, int]) -> dict[str, int]:
        # Snapshots from several threads can arrive out of order: counts only ever grow.
        seen = self._counts.setdefault(name, {})
        for kind, value in counts.items():
            seen[kind] = max(seen.get(kind, 0), value)
        return dict(seen)

    def section(self, name: str, text: str) -> None:
        """Set an integration's text (started, done, failed) and send it now."""
        with self._state:
            self._sections[name] = text
        with self._lock:
            self._send()

    def _send(self) -> None:
        if self._where is None:
            return
        channel, ts = self._where
        self._last = self._monotonic()
        try:
            text, blocks = self._content()
            self._client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
        except SlackApiError as error:
            log.warning("updating the sync message failed: %s", error.response.get("error"))

    def _content(self) -> tuple[str, list[dict[str, Any]]]:
        """The fallback text (notifications, screen readers) and the blocks: a title, a section per integration."""
        with self._state:
            texts = list(self._sections.values())
        blocks: list[Block] = [ContextBlock(elements=[MarkdownTextObject(text=clip(self._title, 2000))])]
        blocks += [SectionBlock(text=MarkdownTextObject(text=clip(text, SECTION_TEXT))) for text in texts[:45]]
        fallback = f"{self._title}\n" + "\n".join(t.splitlines()[0] for t in texts)
        return clip(fallback, 3000), [b.to_dict() for b in blocks]

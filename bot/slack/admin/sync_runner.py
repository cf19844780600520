"""Syncs started from Slack (/atlas-sync, "Sync now", the first sync of a saved integration), one message each.

A sync of an integration that is already running (from Slack, the schedule or the CLI in this process) is
not started again: the caller is told so. Each integration's outcome ends up in the message: what changed
and the owner-tag lint, or one plain sentence about what went wrong.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from slack_sdk import WebClient

from access.approver_groups import ApproverGroups
from access.errors import AccessError, GatewayError
from access.ports import GroupDirectory, Store
from access.sync import SyncService
from bot.slack import messages, mrkdwn
from bot.slack.admin.lint import lint_integration, lint_words
from bot.slack.admin.sync_message import ProgressMessage
from bot.slack.admin.words import atlas_problem
from bot.sync_report import describe_changes

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class Claim:
    names: tuple[str, ...]  # what this caller may sync now
    busy: tuple[str, ...]  # already running elsewhere

    def busy_words(self) -> str:
        names = ", ".join(self.busy)
        return (f"A sync of {names} is already running; its message will show the result. "
                "I did not start another.")


class SyncRunner:
    def __init__(self, *, sync: SyncService, store: Store, directory: GroupDirectory, client: WebClient,
                 every: float, groups: ApproverGroups | None = None) -> None:
        self._sync = sync
        self._store = store
        self._directory = directory
        self._groups = groups if groups is not None else ApproverGroups(people=directory)
        self._client = client
        self._every = every
        self._claimed: set[str] = set()
        self._lock = threading.Lock()

    def resolve(self, text: str) -> tuple[list[str], str | None]:
        """The integrations `/atlas-sync [name]` means (every enabled one without a name), or why there are none."""
        known = self._sync.integrations()
        wanted = text.strip()
        if not wanted:
            return (known, None) if known else ([], "There is no enabled integration to sync yet.")
        if wanted in known:
            return [wanted], None
        listing = ", ".join(known) or "none"
        return [], f"I don't know an enabled integration named `{wanted[:64]}`. Enabled integrations: {listing}."

    def busy(self, name: str) -> bool:
        """Whether a sync of `name` runs now (from Slack, the schedule or the CLI in this process)."""
        with self._lock:
            return name in self._claimed or self._sync.running(name)

    def claim(self, names: list[str]) -> Claim:
        """Reserve `names` for one sync run; those already running are handed back as busy."""
        mine, busy = [], []
        with self._lock:
            for name in names:
                if name in self._claimed or self._sync.running(name):
                    busy.append(name)
                else:
                    self._claimed.add(name)
                    mine.append(name)
        return Claim(names=tuple(mine), busy=tuple(busy))

    def run(self, claim: Claim, *, user_id: str, channel: str | None, title: str | None = None) -> ProgressMessage:
        """Sync the claimed integrations one after the other, reporting in one message (posted in `channel`,
        else as a DM). Releases the claim as each finishes."""
        names = list(claim.names)
        message = ProgressMessage(client=self._client, names=names, every=self._every,
                                  title=title or f"Sync started by {messages.mention(user_id)}")
        try:
            message.post(channel=channel, user_id=user_id)
            for name in names:
                message.section(name, f":arrows_counterclockwise: *{name}*: reading Atlas…")
                message.section(name, self._one(name, user_id, message))
                self._release(name)
        finally:
            for name in names:
                self._release(name)
        return message

    def _one(self, name: str, user_id: str, message: ProgressMessage) -> str:
        try:
            report = self._sync.run(name, actor=user_id,
                                    progress=lambda kind, counts: message.progress(name, kind, counts))
        except (GatewayError, AccessError) as error:
            log.warning("sync of %s failed: %s", name, error)
            return f":x: *{name}*: {atlas_problem(error, integration=name)}"
        except Exception as error:  # the sentence names the type; the log has the traceback for the operator
            log.exception("sync of %s failed", name)
            return f":x: *{name}*: {atlas_problem(error, integration=name)}"
        lint = lint_integration(store=self._store, integration=name, groups=self._groups)
        # Project, cluster and user names come from Atlas: data, escaped for the message.
        summary = mrkdwn.text(describe_changes(name, report.changes).replace(f"{name}: ", "", 1))
        return f":white_check_mark: *{name}*: synced: {summary}\n{lint_words(lint)}"

    def _release(self, name: str) -> None:
        with self._lock:
            self._claimed.discard(name)

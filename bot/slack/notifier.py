"""SlackNotifier: the approval message (posted, then updated in place), DMs to the requester, owner alerts.

Every render comes from the stored request and grant it is handed. Renders race (a click and the grant
worker may both update one message): a per-message guard sends a render only if it is newer than the last
one sent, so the message never steps back to an older state. Slack failures are logged here and never
raised into the domain.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from access.config import IntegrationSpec
from access.entities import AccessRequest, Grant
from bot.slack import messages as words
from bot.slack import views
from bot.slack.credentials_dm import CredentialsCourier
from bot.slack.directory import SlackDirectory
from bot.slack.extend import expiring_blocks

log = logging.getLogger(__name__)


class _Versions:
    """The newest (request version, grant version) sent per message, and a lock per message.

    Bounded: the oldest messages are forgotten first (a forgotten one simply gets its next render sent).
    """

    def __init__(self, *, keep: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._keep = keep
        self._sent: dict[tuple[str, str], tuple[int, int]] = {}
        self._locks: OrderedDict[tuple[str, str], threading.Lock] = OrderedDict()

    def lock_for(self, key: tuple[str, str]) -> threading.Lock:
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
            self._locks.move_to_end(key)
            while len(self._locks) > self._keep:
                old, _ = self._locks.popitem(last=False)
                self._sent.pop(old, None)
            return lock

    def is_stale(self, key: tuple[str, str], seen: tuple[int, int]) -> bool:
        with self._lock:
            last = self._sent.get(key)
        return last is not None and seen[0] <= last[0] and seen[1] <= last[1]

    def record(self, key: tuple[str, str], seen: tuple[int, int]) -> None:
        with self._lock:
            last = self._sent.get(key, (0, 0))
            self._sent[key] = (max(last[0], seen[0]), max(last[1], seen[1]))


TRANSIENT_ERRORS = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable",
                              "request_timeout"})
REDELIVER_ROUNDS = 120  # rounds of the sweep interval (5 s by default: ten minutes) before giving up


class _Redeliveries:
    """What to send again: per approval message only its newest failed render, and the failed DMs in order."""

    def __init__(self, *, keep: int = 1000) -> None:
        self._lock = threading.Lock()
        self._keep = keep
        self._updates: OrderedDict[tuple[str, str], Callable[[], None]] = OrderedDict()
        self._dms: list[tuple[int, Callable[[], bool]]] = []

    def update(self, key: tuple[str, str], again: Callable[[], None]) -> None:
        with self._lock:
            self._updates[key] = again
            self._updates.move_to_end(key)
            while len(self._updates) > self._keep:
                self._updates.popitem(last=False)

    def dm(self, again: Callable[[], bool]) -> None:
        with self._lock:
            if len(self._dms) < self._keep:
                self._dms.append((0, again))

    def run(self) -> int:
        with self._lock:
            updates, self._updates = list(self._updates.values()), OrderedDict()
            dms, self._dms = self._dms, []
        for again in updates:  # a failure puts the render back (update_request does) for the next round
            again()
        sent, kept = 0, []
        for rounds, send in dms:
            if send():
                sent += 1
            elif rounds + 1 < REDELIVER_ROUNDS:
                kept.append((rounds + 1, send))
            else:
                log.warning("a DM Slack kept refusing was dropped after %d rounds", REDELIVER_ROUNDS)
        with self._lock:
            self._dms = kept + self._dms
        return sent + len(updates)


class SlackNotifier:
    """`Notifier` over the Web API (chat.postMessage, chat.update, conversations.open)."""

    def __init__(self, client: WebClient, directory: SlackDirectory) -> None:
        self._client = client
        self._directory = directory
        self._versions = _Versions()
        self._dm_channels: dict[str, str] = {}
        self._credentials = CredentialsCourier(client)
        self.home: Callable[[str], None] | None = None  # publishes one person's App Home (set by bot.slack.home)
        self._redo = _Redeliveries()

    def __repr__(self) -> str:
        return "SlackNotifier()"

    # --- the approval message ---------------------------------------------------------------------------

    def post_request(self, *, request: AccessRequest, integration: IntegrationSpec) -> tuple[str, str] | None:
        channel = request.channel or integration.approval_channel
        content = views.approval_message(request, None, group_mention=self._group_mention(request))
        answer = self._call("chat.postMessage", lambda: self._client.chat_postMessage(channel=channel, **content))
        if answer is None:
            return None
        where = (str(answer["channel"]), str(answer["ts"]))
        self._versions.record(where, (request.version, 0))
        return where

    def update_request(self, *, request: AccessRequest, grant: Grant | None, integration: IntegrationSpec) -> None:
        self.publish_homes(request)
        if not request.channel or not request.message_ts:
            log.info("request %s has no approval message to update", request.id)
            return
        key = (request.channel, request.message_ts)
        seen = (request.version, grant.version if grant is not None else 0)
        with self._versions.lock_for(key):
            if self._versions.is_stale(key, seen):
                return  # a newer render of this message is already in Slack
            content = views.approval_message(request, grant, group_mention=self._group_mention(request))
            answer, transient = self._send("chat.update", lambda: self._client.chat_update(
                channel=key[0], ts=key[1], **content))  # fmt: skip
            if answer is not None:
                self._versions.record(key, seen)
            elif transient:  # Slack down past slack_sdk's retries: the next round renders this state again
                self._redo.update(key, lambda: self.update_request(request=request, grant=grant,
                                                                  integration=integration))

    # --- the requester and the owners -------------------------------------------------------------------

    def tell_requester(
        self, *, request: AccessRequest, grant: Grant | None, event: str, integration: IntegrationSpec,
        kept_by_other_grants: tuple[str, ...] = (),
    ) -> None:
        text = words.requester_text(request=request, grant=grant, event=event, integration=integration,
                                    kept_by_other_grants=kept_by_other_grants)
        extra = expiring_blocks(text, grant) if event == "expiring" and grant is not None else {}
        # Posted to the user id: Slack delivers it in the app's DM with them, without a conversations.open
        # (Tier 3, about 50 a minute) per person, which a burst of expiries would run into.
        def post() -> Any:
            return self._client.chat_postMessage(channel=request.requester_id, text=text, **extra)

        if self._send("chat.postMessage", post) == (None, True):  # Slack down past the retries: later rounds
            self._redo.dm(lambda: self._send("chat.postMessage", post)[0] is not None)
        if event == "requested":  # a new request: after its message is stored, so the Homes can link to it
            self.publish_homes(request)

    def alert_owners(self, *, integration: IntegrationSpec, text: str) -> None:
        mentions = " ".join(self._owner_mentions(integration)) or "Integration owners"
        message = views.clip(f":rotating_light: {mentions}: {text}", 3000)
        self._call("chat.postMessage", lambda: self._client.chat_postMessage(
            channel=integration.approval_channel, text=message))  # fmt: skip

    def remind_approvers(self, *, request: AccessRequest, integration: IntegrationSpec, escalated: bool) -> None:
        """A reply in the approval message's thread (shown in the channel too) naming who should decide."""
        who = self._group_mention(request) or " ".join(words.mention(u) for u in request.approvers[:30])
        if escalated:
            owners = " ".join(self._owner_mentions(integration)) or "Integration owners"
            text = (f":alarm_clock: {owners}: request #{request.id} from {words.mention(request.requester_id)} has "
                    f"waited since {words.when(request.created_at)} without a decision ({who}). Please see to it.")
        else:
            text = f":alarm_clock: {who}: request #{request.id} is still waiting for your decision."
        channel = request.channel or integration.approval_channel
        self._call("chat.postMessage", lambda: self._client.chat_postMessage(
            channel=channel, thread_ts=request.message_ts, reply_broadcast=bool(request.message_ts),
            text=views.clip(text, 3000)))  # fmt: skip

    def deliver_database_credentials(
        self, *, request: AccessRequest, grant: Grant, password: str, integration: IntegrationSpec
    ) -> bool:
        text = words.database_credentials_text(request=request, grant=grant, password=password)
        return self._credentials.deliver(channel=self._dm_channel(request.requester_id), text=text)

    def publish_homes(self, request: AccessRequest) -> None:
        """Refresh the App Home of everyone `request` concerns: its requester and its approvers."""
        if self.home is None:
            return
        for user_id in dict.fromkeys((request.requester_id, *request.approvers)):
            try:
                self.home(user_id)
            except Exception:  # a Home that cannot be published must not stop the message or the DM
                log.exception("publishing the App Home of %s failed", user_id)

    # --- helpers ----------------------------------------------------------------------------------------

    def _group_mention(self, request: AccessRequest) -> str | None:
        if not request.approver_group:
            return None
        group_id = self._directory.group_id(request.approver_group)
        return f"<!subteam^{group_id}>" if group_id else None

    def _owner_mentions(self, integration: IntegrationSpec) -> list[str]:
        found: list[str] = []
        for principal in integration.integration_owners:
            if principal.startswith("@"):
                group_id = self._directory.group_id(principal)
                found.append(f"<!subteam^{group_id}>" if group_id else principal)
            elif principal.startswith("S"):
                found.append(f"<!subteam^{principal}>")
            elif "@" in principal:
                user_id = self._directory.user_id_for_email(principal)
                found.append(words.mention(user_id) if user_id else principal)
            else:
                found.append(words.mention(principal))
        return found

    def _dm_channel(self, user_id: str) -> str | None:
        if user_id in self._dm_channels:
            return self._dm_channels[user_id]
        answer = self._call("conversations.open", lambda: self._client.conversations_open(users=user_id))
        if answer is None:
            return None
        channel = str(answer["channel"]["id"])
        self._dm_channels[user_id] = channel
        return channel

    def redeliver(self) -> int:
        """Send again what Slack refused through all of slack_sdk's retries (a 5xx, a 429, no answer): the
        newest state of each approval message, and the requesters' DMs; what fails again waits for the next
        round, for up to REDELIVER_ROUNDS rounds. Kept in memory: a restart forgets them (the approval
        message is rendered again by the request's next change). Returns how many went through."""
        return self._redo.run()

    @staticmethod
    def _send(method: str, call: Callable[[], Any]) -> tuple[dict[str, Any] | None, bool]:
        """(the answer's data, None if it failed; whether the failure is one a later try may get past)."""
        try:
            return dict(call().data), False
        except SlackApiError as error:
            code = error.response.get("error") if error.response is not None else None
            status = error.response.status_code if error.response is not None else 0
            log.warning("Slack %s failed: %s", method, code or "no error code")
            return None, status == 429 or status >= 500 or code in TRANSIENT_ERRORS
        except Exception as error:  # no answer at all (connection refused, timed out)
            log.warning("Slack %s failed: %s", method, type(error).__name__)
            return None, True

    @staticmethod
    def _call(method: str, call: Callable[[], Any]) -> dict[str, Any] | None:
        """The answer's data, or None after logging the failure (by Slack error code, never the token)."""
        try:
            return dict(call().data)
        except SlackApiError as error:
            code = error.response.get("error") if error.response is not None else None
            log.warning("Slack %s failed: %s", method, code or "no error code")
        except Exception as error:
            log.warning("Slack %s failed: %s", method, type(error).__name__)
        return None

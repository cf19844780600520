"""SlackNotifier: the approval message (posted, then updated in place), DMs to the requester, owner alerts.

Every render comes from the stored request and grant it is handed. Renders race (a click and the grant
worker may both update one message): a per-message guard sends a render only if it is newer than the last
one sent, so the message never steps back to an older state. Slack failures are logged here and never
raised into the domain; what Slack refused through every retry waits in the outbox (`access.ports.Outbox`)
for the timers' rounds to send again (`redeliver`).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from access.config import IntegrationSpec
from access.connections import okta_group_of
from access.entities import AccessRequest, Grant
from access.model import Parcel, RequestStatus
from access.ports import Clock, Outbox, Store
from bot.slack import messages as words
from bot.slack import mrkdwn, views
from bot.slack.credentials_dm import CredentialsCourier
from bot.slack.directory import SlackDirectory
from bot.slack.extend import expiring_blocks
from bot.slack.reveal import offer_blocks

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


def _group_seen(items: list[tuple[AccessRequest, Grant | None]]) -> tuple[int, int]:
    """How far a group message's render has come: the sums of its items' versions (each only grows)."""
    return (sum(r.version for r, _ in items), sum(g.version for _, g in items if g is not None))


TRANSIENT_ERRORS = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable",
                              "request_timeout"})
OUTBOX_LEASE = timedelta(seconds=60)  # a replica sending a parcel has it this long before another may take it
OUTBOX_GIVE_UP = timedelta(hours=24)  # a message Slack has refused this long is dropped (and logged)
OUTBOX_LONGEST_WAIT = timedelta(minutes=5)  # between two tries of a message Slack keeps refusing


def outbox_backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th refused try: the next round at first, doubling from 10 s up to 5 min."""
    if attempts <= 1:
        return timedelta(0)
    return min(timedelta(seconds=10 * 2 ** (attempts - 2)), OUTBOX_LONGEST_WAIT)


class SlackNotifier:
    """`Notifier` over the Web API (chat.postMessage, chat.update, conversations.open)."""

    def __init__(self, client: WebClient, directory: SlackDirectory, *, store: Store, outbox: Outbox,
                 clock: Clock, homes: Callable[[str], None] | None = None) -> None:
        """`homes` marks one person's App Home stale (a HomeRefresher): told after each change concerning them."""
        self._client = client
        self._directory = directory
        self._store = store
        self._outbox = outbox  # what Slack refused through every retry, sent again by `redeliver`
        self._clock = clock
        self._versions = _Versions()
        self._dm_channels: dict[str, str] = {}
        self._credentials = CredentialsCourier(client)
        self._homes = homes

    def __repr__(self) -> str:
        return "SlackNotifier()"

    # --- the approval message ---------------------------------------------------------------------------

    def post_request(self, *, request: AccessRequest, integration: IntegrationSpec) -> tuple[str, str] | None:
        """The approval message; for an item of a request of several resources, the message of its owner group,
        listing every item of that group (`group_part`)."""
        channel = request.channel or integration.approval_channel
        if request.group_id is not None:
            items = self._group_items(request)
            content = views.group_approval_message(items, group_mention=self._group_mention(request))
            seen = _group_seen(items)
        else:
            content = views.approval_message(request, None, group_mention=self._group_mention(request))
            seen = (request.version, 0)
        answer = self._call("chat.postMessage", lambda: self._client.chat_postMessage(channel=channel, **content))
        if answer is None:
            return None
        where = (str(answer["channel"]), str(answer["ts"]))
        self._versions.record(where, seen)
        return where

    def update_request(self, *, request: AccessRequest, grant: Grant | None, integration: IntegrationSpec) -> None:
        self.publish_homes(request)
        if not request.channel or not request.message_ts:
            # Normal for a request approved without waiting (auto-approved): not worth a log line per grant step.
            log.debug("request %s has no approval message to update", request.id)
            return
        if not self._render(request, grant):  # Slack down past slack_sdk's retries: a later round renders anew
            self._keep(f"update:{request.channel}:{request.message_ts}", {"request_id": request.id})

    def _render(self, request: AccessRequest, grant: Grant | None) -> bool:
        """Send this state of the approval message; False when Slack refused it in a way a later try may pass."""
        key = (str(request.channel), str(request.message_ts))
        seen = (request.version, grant.version if grant is not None else 0)
        items: list[tuple[AccessRequest, Grant | None]] = []
        if request.group_id is not None:  # the whole owner group's message, from its items as stored now
            items = self._group_items(request)
            seen = _group_seen(items)
        with self._versions.lock_for(key):
            if self._versions.is_stale(key, seen):
                return True  # a newer render of this message is already in Slack
            content = views.group_approval_message(items, group_mention=self._group_mention(request)) if items \
                else views.approval_message(request, grant, group_mention=self._group_mention(request))
            answer, transient = self._send("chat.update", lambda: self._client.chat_update(
                channel=key[0], ts=key[1], **content))  # fmt: skip
            if answer is not None:
                self._versions.record(key, seen)
            return answer is not None or not transient

    def _group_items(self, request: AccessRequest) -> list[tuple[AccessRequest, Grant | None]]:
        """The items on the same approval message as `request` (its owner group's part), with their grants."""
        with self._store.unit_of_work() as uow:
            members = [r for r in uow.requests.in_group(request.group_id or "") if r.group_part == request.group_part]
            return [(r, uow.grants.for_request(r.id or 0)) for r in members] or [(request, None)]

    # --- the requester and the owners -------------------------------------------------------------------

    def tell_requester(
        self, *, request: AccessRequest, grant: Grant | None, event: str, integration: IntegrationSpec,
        kept_by_other_grants: tuple[str, ...] = (),
    ) -> None:
        if request.group_id is not None and event in ("requested", "group_decided"):  # one DM naming every item
            with self._store.unit_of_work() as uow:
                group = [(r, uow.grants.for_request(r.id or 0)) for r in uow.requests.in_group(request.group_id)]
            text = words.group_requested_text(group or [(request, grant)]) if event == "requested" \
                else words.group_decided_text(group or [(request, grant)])
        else:
            text = words.requester_text(request=request, grant=grant, event=event, integration=integration,
                                        kept_by_other_grants=kept_by_other_grants)
        extra = expiring_blocks(text, grant) if event == "expiring" and grant is not None else {}
        # Posted to the user id: Slack delivers it in the app's DM with them, without a conversations.open
        # (Tier 3, about 50 a minute) per person, which a burst of expiries would run into.
        pending = event == "requested" or event.startswith("pending_")
        self._post({"channel": request.requester_id, "text": text, **extra},
                   while_pending=request.id if pending else None,
                   until=grant.expires_at if event == "expiring" and grant is not None else None)
        if request.requested_by and event in words.DELEGATE_EVENTS:  # asked on the requester's behalf: both hear
            self._post({"channel": request.requested_by, "text": words.delegate_text(request, text)})
        if event == "requested":  # a new request: after its message is stored, so the Homes can link to it
            self.publish_homes(request)

    def alert_owners(self, *, integration: IntegrationSpec, text: str) -> None:
        mentions = " ".join(self._owner_mentions(integration)) or "Integration owners"
        self._post({"channel": integration.approval_channel,
                    "text": views.clip(f":rotating_light: {mentions}: {mrkdwn.text(text)}", 3000)})

    def remind_approvers(self, *, request: AccessRequest, integration: IntegrationSpec, escalated: bool) -> None:
        """A reply in the approval message's thread (shown in the channel too) naming who should decide."""
        who = self._group_mention(request) or " ".join(words.mention(u) for u in request.approvers[:30])
        if escalated:
            owners = " ".join(self._owner_mentions(integration)) or "Integration owners"
            text = (f":alarm_clock: {owners}: request #{request.id} from {words.mention(request.requester_id)} has "
                    f"waited since {words.when(request.created_at)} without a decision ({who}). Please see to it.")
        else:
            text = f":alarm_clock: {who}: request #{request.id} is still waiting for your decision."
        self._post({"channel": request.channel or integration.approval_channel, "thread_ts": request.message_ts,
                    "reply_broadcast": bool(request.message_ts), "text": views.clip(text, 3000)},
                   while_pending=request.id)

    def offer_database_credentials(
        self, *, request: AccessRequest, grant: Grant, integration: IntegrationSpec, until: datetime
    ) -> bool:
        text = words.credentials_offer_text(request=request, grant=grant, until=until)
        return self._credentials.deliver(channel=self._dm_channel(request.requester_id), text=text,
                                         blocks=offer_blocks(text, grant))

    def publish_homes(self, request: AccessRequest) -> None:
        """Refresh the App Home of everyone `request` concerns: its requester and its approvers."""
        if self._homes is None:
            return
        for user_id in dict.fromkeys((request.requester_id, *request.approvers)):
            try:
                self._homes(user_id)
            except Exception:  # a Home that cannot be published must not stop the message or the DM
                log.exception("publishing the App Home of %s failed", user_id)

    # --- helpers ----------------------------------------------------------------------------------------

    def _group_mention(self, request: AccessRequest) -> str | None:
        if not request.approver_group:
            return None
        group_id = self._directory.group_id(request.approver_group)
        return mrkdwn.user_group(group_id) if group_id else None

    def _owner_mentions(self, integration: IntegrationSpec) -> list[str]:
        found: list[str] = []
        for principal in integration.integration_owners:
            if (okta := okta_group_of(principal)) is not None:
                found.append(f"Okta group {mrkdwn.line(okta)}")
            elif principal.startswith("@"):
                group_id = self._directory.group_id(principal)
                found.append(mrkdwn.user_group(group_id) if group_id else mrkdwn.line(principal))
            elif principal.startswith("S"):
                found.append(mrkdwn.user_group(principal))
            elif "@" in principal:
                user_id = self._directory.user_id_for_email(principal)
                found.append(words.mention(user_id) if user_id else mrkdwn.line(principal))
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
        """Send again what Slack refused through all of slack_sdk's retries (a 5xx, a 429, no answer), kept in
        the outbox table so a restart does not forget it: approval messages, rendered anew from the stored
        request and grant, and posts (DMs, owner alerts, reminders). What Slack refuses again waits a growing
        while (`outbox_backoff`), for up to OUTBOX_GIVE_UP; after one refusal the round tries nothing more (each
        try costs slack_sdk's retries, and the timers' round must not hang on an outage). Returns how many went
        through."""
        delivered, refused = 0, False
        for parcel in self._outbox.take(lease=OUTBOX_LEASE):
            if refused:  # Slack is still refusing: the rest wait with it, rather than each cost its retries
                self._outbox.again(parcel, after=outbox_backoff(parcel.attempts))
                continue
            try:
                done = self._deliver(parcel)
            except Exception as error:  # this parcel's own trouble (a row it cannot render): it backs off alone
                log.warning("sending outbox parcel %s failed: %s", parcel.id, type(error).__name__)
                self._later_or_drop(parcel)
                continue
            if done:
                self._outbox.sent(parcel)
                delivered += 1
            else:
                refused = not self._later_or_drop(parcel)
        return delivered

    def _later_or_drop(self, parcel: Parcel) -> bool:
        """Back `parcel` off for its next try, or drop it once it has waited OUTBOX_GIVE_UP; True if dropped.
        With the database gone as well, its lease brings it back."""
        try:
            if self._clock.now() - parcel.created_at >= OUTBOX_GIVE_UP:
                log.warning("dropped a Slack message not sent for %s (%s, %d tries)", OUTBOX_GIVE_UP,
                            parcel.key.split(":", 1)[0], parcel.attempts)
                self._outbox.sent(parcel)
                return True
            self._outbox.again(parcel, after=outbox_backoff(parcel.attempts))
        except Exception as error:
            log.warning("outbox parcel %s kept for its lease: %s", parcel.id, type(error).__name__)
        return False

    def _deliver(self, parcel: Parcel) -> bool:
        """One parcel's try: True when it is done with (sent, or refused for good), False to try again."""
        if parcel.key.startswith("update:"):
            request_id = int(parcel.payload["request_id"])
            with self._store.unit_of_work() as uow:
                request, grant = uow.requests.get(request_id), uow.grants.for_request(request_id)
            if request is None or not request.channel or not request.message_ts:
                return True
            return self._render(request, grant)
        if self._outdated(parcel.payload):
            return True
        message = parcel.payload["message"]
        answer, transient = self._send("chat.postMessage", lambda: self._client.chat_postMessage(**message))
        return answer is not None or not transient

    def _outdated(self, payload: dict[str, Any]) -> bool:
        """Whether a kept post no longer says anything true: about a request decided since, or past its time."""
        until = payload.get("until")
        if until is not None and self._clock.now() >= datetime.fromisoformat(until):
            return True
        request_id = payload.get("while_pending")
        if request_id is None:
            return False
        with self._store.unit_of_work() as uow:
            request = uow.requests.get(int(request_id))
        return request is None or request.status is not RequestStatus.PENDING

    def _post(self, message: dict[str, Any], *, while_pending: int | None = None,
              until: datetime | None = None) -> None:
        """chat.postMessage; kept in the outbox when Slack refused it through every retry (never a permanent
        refusal, such as a channel the bot is not in: that would fail again). A kept post about an undecided
        request (`while_pending`) or with a time to it (`until`: an expiry reminder) is not sent once outdated."""
        answer, transient = self._send("chat.postMessage", lambda: self._client.chat_postMessage(**message))
        if answer is None and transient:
            self._keep(f"post:{uuid.uuid4().hex}", {"message": message, "while_pending": while_pending,
                                                     "until": until.isoformat() if until is not None else None})

    def _keep(self, key: str, payload: dict[str, Any]) -> None:
        try:
            self._outbox.put(key, payload)
        except Exception:  # the database is down as well: nothing is left to keep it in
            log.exception("a Slack message Slack refused could not be kept for later; it is lost")

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

"""RecordingNotifier: the `Notifier` port, keeping what people would see as typed events.

What it keeps is what the real `bot.slack.notifier.SlackNotifier` makes observable (tests/contracts checks the
two against each other): a posted approval message has a (channel, ts) and later renders go to it; a render older
than the last one shown is dropped (the message never steps back); a message-less request gets no render; DMs go
to the requester; alerts go to the integration's approval channel; a reminder is a reply in the message's thread.
Told to fail (`fail`), it fails as the real one does, quietly: nothing shown, None or False returned, nothing
raised. `raising=True` is harsher than any real notifier (the domain must survive even that).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from access.config import IntegrationSpec
from access.entities import AccessRequest, Grant
from access.model import GrantStatus, RequestStatus


@dataclass(frozen=True, kw_only=True)
class Posted:
    request_id: int | None
    channel: str
    ts: str
    request: AccessRequest


@dataclass(frozen=True, kw_only=True)
class Updated:
    request_id: int | None
    channel: str
    ts: str
    request: AccessRequest
    grant: Grant | None

    @property
    def status(self) -> RequestStatus:
        return self.request.status

    @property
    def grant_status(self) -> GrantStatus | None:
        return self.grant.status if self.grant is not None else None


@dataclass(frozen=True, kw_only=True)
class Told:
    """A DM to the requester."""

    user_id: str
    request_id: int | None
    event: str
    request: AccessRequest
    grant: Grant | None
    kept_by_other_grants: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Alerted:
    integration: str
    channel: str
    text: str


@dataclass(frozen=True, kw_only=True)
class Reminded:
    request_id: int | None
    channel: str
    thread_ts: str | None
    escalated: bool
    approvers: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class CredentialsSent:
    """The DM offering a temporary database user's sign-in (shown once by its button; no secret in it)."""

    user_id: str
    request_id: int | None
    grant_id: int | None
    database_user: str | None
    until: datetime


Event = Posted | Updated | Told | Alerted | Reminded | CredentialsSent
E = TypeVar("E", Posted, Updated, Told, Alerted, Reminded, CredentialsSent)
METHODS = ("post_request", "update_request", "tell_requester", "alert_owners", "remind_approvers",
           "offer_database_credentials")


class NotifierDown(RuntimeError):
    """What a `raising` RecordingNotifier raises."""


@dataclass
class RecordingNotifier:
    events: list[Event] = field(default_factory=list)
    raising: bool = False
    raise_as: Callable[[str], BaseException] | None = None  # what a failing call raises (default NotifierDown)
    _failing: dict[str, int] = field(default_factory=dict)  # method -> calls left to fail (-1: for ever)
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _shown: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)  # newest (request, grant) versions

    def fail(self, *methods: str, count: int = -1) -> None:
        """The next `count` calls of each method (all of them by default; -1: until `recover`) fail."""
        for method in methods or METHODS:
            assert method in METHODS, method
            self._failing[method] = count

    def recover(self) -> None:
        self._failing.clear()

    # --- the port ----------------------------------------------------------------------------------------

    def post_request(self, *, request: AccessRequest, integration: IntegrationSpec) -> tuple[str, str] | None:
        if self._fails("post_request"):
            return None
        channel, ts = request.channel or integration.approval_channel, f"1767603600.{next(self._ts):06d}"
        self._shown[(channel, ts)] = (request.version, 0)
        self.events.append(Posted(request_id=request.id, channel=channel, ts=ts, request=request))
        return channel, ts

    def update_request(self, *, request: AccessRequest, grant: Grant | None, integration: IntegrationSpec) -> None:
        if not request.channel or not request.message_ts or self._fails("update_request"):
            return
        key = (request.channel, request.message_ts)
        seen = (request.version, grant.version if grant is not None else 0)
        last = self._shown.get(key)
        if last is not None and seen[0] <= last[0] and seen[1] <= last[1]:
            return  # a newer render of this message is already shown
        self._shown[key] = (max(seen[0], last[0] if last else 0), max(seen[1], last[1] if last else 0))
        self.events.append(Updated(request_id=request.id, channel=key[0], ts=key[1], request=request, grant=grant))

    def tell_requester(self, *, request: AccessRequest, grant: Grant | None, event: str,
                       integration: IntegrationSpec, kept_by_other_grants: tuple[str, ...] = ()) -> None:
        if self._fails("tell_requester"):
            return
        self.events.append(Told(user_id=request.requester_id, request_id=request.id, event=event, request=request,
                                grant=grant, kept_by_other_grants=tuple(kept_by_other_grants)))

    def alert_owners(self, *, integration: IntegrationSpec, text: str) -> None:
        if self._fails("alert_owners"):
            return
        self.events.append(Alerted(integration=integration.name, channel=integration.approval_channel, text=text))

    def remind_approvers(self, *, request: AccessRequest, integration: IntegrationSpec, escalated: bool) -> None:
        if self._fails("remind_approvers"):
            return
        self.events.append(Reminded(request_id=request.id, channel=request.channel or integration.approval_channel,
                                    thread_ts=request.message_ts, escalated=escalated, approvers=request.approvers))

    def offer_database_credentials(self, *, request: AccessRequest, grant: Grant, integration: IntegrationSpec,
                                   until: datetime) -> bool:
        if self._fails("offer_database_credentials"):
            return False
        self.events.append(CredentialsSent(user_id=request.requester_id, request_id=request.id, grant_id=grant.id,
                                           database_user=grant.database_user, until=until))
        return True

    # --- reading what happened ---------------------------------------------------------------------------

    def of(self, kind: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)]

    def told(self, request_id: int | None = None) -> list[str]:
        """The DM events (`requested`, `approved`, `granted`, ...) in order, for one request or all."""
        return [e.event for e in self.events if isinstance(e, Told) and request_id in (None, e.request_id)]

    def dms(self, user_id: str) -> list[Told]:
        return [e for e in self.events if isinstance(e, Told) and e.user_id == user_id]

    def alerts(self) -> list[Alerted]:
        return [e for e in self.events if isinstance(e, Alerted)]

    def reminders(self) -> list[Reminded]:
        return [e for e in self.events if isinstance(e, Reminded)]

    def posts(self) -> list[Posted]:
        return [e for e in self.events if isinstance(e, Posted)]

    def updates(self, request_id: int | None = None) -> list[Updated]:
        return [e for e in self.events if isinstance(e, Updated) and request_id in (None, e.request_id)]

    def credentials(self) -> list[CredentialsSent]:
        return [e for e in self.events if isinstance(e, CredentialsSent)]

    def message(self, request_id: int) -> Updated | Posted | None:
        """The approval message of a request as it shows now: its last render (or the post, if never updated)."""
        shown = [e for e in self.events if isinstance(e, Posted | Updated) and e.request_id == request_id]
        return shown[-1] if shown else None

    def clear(self) -> None:
        self.events.clear()

    def _fails(self, method: str) -> bool:
        left = self._failing.get(method, 0)
        if left == 0:
            return False
        if left > 0:
            self._failing[method] = left - 1
        if self.raising:
            raise self.raise_as(method) if self.raise_as is not None else NotifierDown(f"{method} failed")
        return True

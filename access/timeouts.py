"""Timed nudges driven by the database: the requester's reminder before a grant expires, and the reminders,
escalation and expiry of requests nobody decides.

Each reminder is claimed by a compare-and-set that records `reminder_sent_at` before the DM goes out, so
it is sent once across restarts and replicas (a crash between the two loses one reminder, never doubles it).
A periodic job calls `ExpiryReminders.run`; tests call it after moving a ManualClock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial

from access import lifecycle, several
from access.config import AccessFlowSpec, IntegrationSpec
from access.config import PendingTimeouts as PendingTimeoutsSpec
from access.entities import AccessRequest, AuditEvent, Grant
from access.errors import AlreadyDecided
from access.model import RequestStatus
from access.ports import Clock, Notifier, StaleWrite, Store
from access.rounds import FaultIsolation

log = logging.getLogger(__name__)
DEFAULT_EXPIRY_REMINDER = timedelta(minutes=15)


class ExpiryReminders:
    def __init__(self, *, store: Store, notifier: Notifier, clock: Clock,
                 lead: timedelta = DEFAULT_EXPIRY_REMINDER, batch: int = 100,
                 isolation: FaultIsolation | None = None) -> None:
        self._store = store
        self._notifier = notifier
        self._clock = clock
        self.lead = lead
        self._batch = batch
        self._isolation = isolation or FaultIsolation(store=store, notifier=notifier)

    def run(self) -> int:
        """DM each requester whose active grant ends within `lead` (and has not ended); how many were sent.

        One grant's failure (its integration cannot be read, say) is that grant's: the others are reminded.
        """
        if self.lead <= timedelta(0):
            return 0  # reminders turned off
        now = self._clock.now()
        with self._store.unit_of_work() as uow:
            due = uow.grants.expiring(before=now + self.lead, limit=self._batch)
        sent = 0
        with self._isolation.round("expiry reminders") as round_:
            for grant in (g for g in due if g.expires_at and g.expires_at > now):
                sent += bool(round_.attempt(grant.integration, partial(self._remind, grant), what=f"grant #{grant.id}"))
        return sent

    def _remind(self, grant: Grant) -> bool:
        now = self._clock.now()
        try:
            with self._store.unit_of_work() as uow:
                saved = uow.grants.save(replace(grant, reminder_sent_at=now, updated_at=now))
                uow.audit.add(AuditEvent(at=now, actor="system", action="expiry_reminded",
                                         integration=grant.integration, request_id=grant.request_id,
                                         grant_id=grant.id, detail={"resource": grant.resource_name}))
                request = uow.requests.get(grant.request_id)
                spec = uow.integrations.get(grant.integration)
        except StaleWrite:
            return False  # another replica (or the worker) moved it first
        if request is None or spec is None:
            return False
        try:
            self._notifier.tell_requester(request=request, grant=saved, event="expiring", integration=spec)
        except Exception:
            log.exception("the expiry reminder of grant %s failed", grant.id)
        return True


class PendingTimeouts:
    """Undecided requests do not rot: per flow (`AccessFlowSpec.pending`), the approvers are reminded, then the
    integration owners asked, then the request expires; the requester is told at each step.

    Each step is recorded on the request (`reminded_at`, `escalated_at`, EXPIRED) by a compare-and-set before
    anyone is told, so it happens once across restarts and replicas, and a decision that wins the race stops it.
    """

    def __init__(self, *, store: Store, notifier: Notifier, clock: Clock,
                 isolation: FaultIsolation | None = None) -> None:
        self._store = store
        self._notifier = notifier
        self._clock = clock
        self._isolation = isolation or FaultIsolation(store=store, notifier=notifier)

    def run(self) -> int:
        """Take every due step; how many were taken. Each request's flow is read on its own, so a flow that
        cannot be read stops its own requests only (told to its integration's owners once)."""
        now = self._clock.now()
        with self._store.unit_of_work() as uow:
            pending = uow.requests.pending()
        flows: dict[str, AccessFlowSpec | None] = {}
        taken = 0
        with self._isolation.round("pending-request timeouts") as round_:
            for request in pending:
                step = partial(self._step, request, flows, now)
                taken += bool(round_.attempt(request.integration, step, what=f"request #{request.id}"))
        return taken

    def _step(self, request: AccessRequest, flows: dict[str, AccessFlowSpec | None], now: datetime) -> bool:
        if request.break_glass:
            return False  # granted at once: nothing to remind anyone of
        if request.flow not in flows:
            with self._store.unit_of_work() as uow:
                flows[request.flow] = uow.flows.get(request.flow)
        step = due_step(request, flows[request.flow], now)
        return step is not None and self._take(request, step)

    def _take(self, request: AccessRequest, step: str) -> bool:
        now = self._clock.now()
        try:
            with self._store.unit_of_work() as uow:
                saved = uow.requests.save(apply_step(request, step, now))
                uow.audit.add(AuditEvent(at=now, actor="system", action=f"pending_{step}",
                                         integration=request.integration, request_id=request.id,
                                         detail={"resource": request.resource_name}))
                spec = uow.integrations.get(request.integration)
        except (StaleWrite, AlreadyDecided):
            return False  # decided, or taken by another replica, in the meantime
        if spec is not None:
            self._tell(saved, step, spec)
            if step == "expired" and several.claim_summary(self._store, saved, now=now) is not None:
                self._tell_summary(saved, spec)  # the last item of a request of several was left undecided
        return True

    def _tell_summary(self, request: AccessRequest, spec: IntegrationSpec) -> None:
        try:
            self._notifier.tell_requester(request=request, grant=None, event="group_decided", integration=spec)
        except Exception:
            log.exception("telling the outcomes of request group %s failed", request.group_id)

    def _tell(self, request: AccessRequest, step: str, spec: IntegrationSpec) -> None:
        calls: list[Callable[[], None]] = [
            lambda: self._notifier.update_request(request=request, grant=None, integration=spec)]
        if step != "expired":
            calls.append(lambda: self._notifier.remind_approvers(request=request, integration=spec,
                                                                 escalated=step == "escalated"))
        calls.append(lambda: self._notifier.tell_requester(request=request, grant=None, event=f"pending_{step}"
                                                           if step != "expired" else "expired", integration=spec))
        for call in calls:
            try:
                call()
            except Exception:
                log.exception("telling about request %s (%s) failed", request.id, step)


def due_step(request: AccessRequest, flow: AccessFlowSpec | None, now: datetime) -> str | None:
    """The step now due for an undecided request: "expired", "escalated", "reminded", or None."""
    if request.status is not RequestStatus.PENDING or request.break_glass:
        return None
    timeouts = flow.pending if flow is not None else PendingTimeoutsSpec()
    age = now - request.created_at
    if age >= timeouts.expire_after:
        return "expired"
    if age >= timeouts.escalate_after and request.escalated_at is None:
        return "escalated"
    if age >= timeouts.remind_after and request.reminded_at is None and request.escalated_at is None:
        return "reminded"
    return None


def apply_step(request: AccessRequest, step: str, now: datetime) -> AccessRequest:
    if step == "expired":
        return lifecycle.expire_request(request, now=now)
    if request.status is not RequestStatus.PENDING:
        raise AlreadyDecided(request.status.value, request.decided_by)
    if step == "escalated":
        return replace(request, escalated_at=now, reminded_at=request.reminded_at or now, updated_at=now)
    return replace(request, reminded_at=now, updated_at=now)

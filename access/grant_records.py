"""The grant worker's bookkeeping, shared by its branches: save with a compare-and-set, finish a step with its
audit row and tell people, back a failure off.

The state machine and its guarantees are the same whatever Atlas does for a grant (roles on an organization or
a project, a temporary database user on a cluster); only the Atlas calls differ. So each branch is a `GrantSteps`
taking this as a collaborator, rather than one branch reaching into another's private members.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from access import lifecycle
from access.entities import AccessRequest, AuditEvent, Grant
from access.errors import GatewayRateLimited
from access.model import GrantStatus
from access.ports import Clock, Notifier, StaleWrite, Store, UnitOfWork

log = logging.getLogger(__name__)
G = GrantStatus
# Hears each recorded step: (action, the grant as saved, the audit detail); the metrics take revocation lateness.
Observer = Callable[[str, Grant, dict[str, object]], None]


@dataclass(frozen=True, kw_only=True)
class WorkerOptions:
    owner: str  # this process's lease owner id
    lease_seconds: float = 60.0
    concurrency: int = 1  # grants worked at once, each on its own thread with its own claim
    invitation_poll_seconds: float = 60.0
    invitation_timeout: timedelta = timedelta(days=7)
    max_grant_attempts: int = 5
    alert_after_attempts: int = 3
    backoff_base_seconds: float = 2.0
    backoff_cap_seconds: float = 300.0


class GrantSteps(Protocol):
    """One kind of resource's Atlas side of a claimed grant: grant it, or revoke it, as its status says."""

    def work(self, grant: Grant) -> None: ...


@dataclass(eq=False, kw_only=True)
class PendingFinish:
    """A step's write (the grant's compare-and-set save and its audit row), waiting for a transaction; then what
    came of it: the grant as saved and its request, or the error (StaleWrite: it moved on meanwhile)."""

    grant: Grant
    since: Grant | None
    event: AuditEvent
    request: AccessRequest | None
    saved: Grant | None = None
    error: Exception | None = None


class FinishesMovedOn(Exception):
    """`GrantRecords.write(together=True)`: a grant among the finishes moved on meanwhile; some of the others may
    have been written in the transaction, so it must be left (rolled back) and the finishes written one by one."""


# Takes a step's write to commit it in a transaction of its own making (the crew's next claim), and answers once it
# is committed or has failed (True), or at once that it will not (False: the step commits it itself).
FinishSink = Callable[[PendingFinish], bool]


class GrantRecords:
    def __init__(self, *, store: Store, notifier: Notifier, clock: Clock, options: WorkerOptions,
                 observer: Observer | None = None) -> None:
        self._store = store
        self._notifier = notifier
        self._clock = clock
        self.options = options
        self._observer = observer
        self._local = threading.local()  # `sink`: where this thread's finishes are committed, if not by itself

    @contextmanager
    def finishing_through(self, sink: FinishSink) -> Iterator[None]:
        """While the block runs, this thread's finishes are handed to `sink` (see `_Crew` in access.worker)."""
        self._local.sink = sink
        try:
            yield
        finally:
            self._local.sink = None

    @staticmethod
    def write(uow: UnitOfWork, pending: Sequence[PendingFinish], *, together: bool = False) -> None:
        """Each step's save and audit row, in the caller's transaction; a step whose grant moved on meanwhile gets
        its StaleWrite (and no audit row) while the others go through: a compare-and-set that matched no row
        leaves the transaction usable. The requests not read yet, in one read.

        `together`: the saves in one statement (`GrantRepository.save_many`), as the crew's dispatcher writes the
        finishes handed over to it; FinishesMovedOn if any grant moved on, after some may have been written: the
        caller leaves the transaction and writes them again without `together`. (A statement a save was a sixth of
        the dispatcher's CPU in bench/revocation.py; a grant moving on under its worker is rare.)"""
        for item in pending:  # written again after a transaction that failed or was left
            item.saved, item.error = None, None
        if together and len(pending) > 1:
            try:
                saved = uow.grants.save_many([(item.grant, item.since) for item in pending])
            except StaleWrite:
                raise FinishesMovedOn from None
            for item, grant in zip(pending, saved, strict=True):
                item.saved = grant
        else:
            for item in pending:
                try:
                    item.saved = uow.grants.save(item.grant, since=item.since)
                except StaleWrite as stale:
                    item.error = stale
        uow.audit.add_many([item.event for item in pending if item.saved is not None])
        unread = [item.grant.request_id for item in pending if item.saved is not None and item.request is None]
        if unread:
            found = uow.requests.get_many(unread)
            for item in pending:
                if item.saved is not None and item.request is None:
                    item.request = found.get(item.grant.request_id)

    def save(self, grant: Grant) -> Grant:
        with self._store.unit_of_work() as uow:
            return uow.grants.save(grant)

    def finish(self, grant: Grant, action: str, *, notify: bool = True, kept_by_others: tuple[str, ...] = (),
               since: Grant | None = None, request: AccessRequest | None = None, **detail: object) -> None:
        """Save the grant with its audit row in one transaction, then tell people. `since`: the grant as stored
        (only what differs from it is written); `request`: the grant's request when the caller has read it (else
        read here, for the messages)."""
        item = PendingFinish(grant=grant, since=since, request=request, event=AuditEvent(
            at=self._clock.now(), actor="system", action=action, integration=grant.integration,
            request_id=grant.request_id, grant_id=grant.id, detail={"resource": grant.resource_name, **detail}))
        sink: FinishSink | None = getattr(self._local, "sink", None)
        if sink is None or not sink(item):
            with self._store.unit_of_work() as uow:
                self.write(uow, [item])
        if item.error is not None:
            raise item.error
        saved, request = item.saved, item.request
        if saved is None:
            raise RuntimeError("a finish was committed without its grant")  # a broken sink
        spec = self._store.integration(grant.integration)
        if self._observer is not None:
            observer = self._observer
            quietly(lambda: observer(action, saved, dict(detail)))
        if request is not None and spec is not None:
            # The approval message always shows the grant as it is (a failure too); the DM only with `notify`.
            quietly(lambda: self._notifier.update_request(request=request, grant=saved, integration=spec))
            if notify:
                quietly(lambda: self._notifier.tell_requester(
                    request=request, grant=saved, event=action, integration=spec,
                    kept_by_other_grants=kept_by_others))

    def alert(self, grant: Grant, text: str) -> None:
        spec = self._store.integration(grant.integration)
        if spec is not None:
            quietly(lambda: self._notifier.alert_owners(integration=spec, text=text))

    def wait_after(self, attempts: int, error: Exception) -> timedelta:
        """The backoff before the next attempt; at least what Atlas asked for when it kept pacing us (capped)."""
        wait = lifecycle.backoff(attempts, base=self.options.backoff_base_seconds,
                                 cap=self.options.backoff_cap_seconds)
        if isinstance(error, GatewayRateLimited) and error.retry_after:
            wait = max(wait, timedelta(seconds=min(error.retry_after, self.options.backoff_cap_seconds)))
        return wait

    def grant_failed(self, grant: Grant, error: Exception, *, atlas_untouched: bool = False) -> None:
        """A grant attempt failed (`grant.attempts` counts it); `atlas_untouched`: it failed at its look-up, so no
        attempt of this grant has changed anything in Atlas yet."""
        now = self._clock.now()
        if grant.attempts >= self.options.max_grant_attempts and atlas_untouched:
            # Give up granting: there is nothing in Atlas to take back, so it ends here, and says so.
            grant = lifecycle.move_grant(grant, G.REVOKED, now, revoked_at=now, next_attempt_at=None,
                                         last_error=str(error), lease_owner=None, lease_until=None)
            self.finish(grant, "grant_failed", error=str(error))
            return
        if grant.attempts >= self.options.max_grant_attempts:
            # Give up granting; revoke whatever part of it may have reached Atlas, and say so.
            grant = lifecycle.move_grant(grant, G.REVOKING, now, next_attempt_at=now, last_error=str(error),
                                         lease_owner=None, lease_until=None, attempts=0, expires_at=now)
            self.finish(grant, "grant_failed", error=str(error))
            return
        wait = self.wait_after(grant.attempts, error)
        grant = lifecycle.move_grant(grant, G.GRANTING, now, next_attempt_at=now + wait, last_error=str(error),
                                     lease_owner=None, lease_until=None)
        self.finish(grant, "grant_retry", error=str(error), attempt=grant.attempts, notify=False)

    def revoke_failed(self, grant: Grant, error: Exception) -> None:
        now = self._clock.now()
        attempts = grant.attempts + 1
        alert = attempts >= self.options.alert_after_attempts and not grant.alerted
        grant = lifecycle.move_grant(grant, G.FAILED, now, attempts=attempts,
                                     next_attempt_at=now + self.wait_after(attempts, error), last_error=str(error),
                                     lease_owner=None, lease_until=None, alerted=grant.alerted or alert)
        self.finish(grant, "revoke_failed", error=str(error), attempt=attempts, notify=False)
        if alert:
            self.alert(grant, f"Revoking {grant.username}'s {', '.join(grant.roles)} on {grant.resource_name} "
                              f"has failed {attempts} times (last error: {error}). atlas-access keeps retrying.")


def quietly(action: Callable[[], object]) -> None:
    """A notification or an observer: its failure is logged, and never undoes or blocks the stored step."""
    try:
        action()
    except Exception:
        log.exception("notification failed")

"""The grant worker: claims due grants with a lease and moves them on in Atlas (grant, poll invitation, revoke).

The database is the truth. Timers only wake `run_due`; any replica may run it. A claimed grant is worked
and saved with a compare-and-set, so a worker that lost its lease cannot mark anything done. Failures
back off with jitter and are retried forever; the integration owners hear about it after a few.

Each worker thread claims one grant at a time, so a lease covers the work of one grant: a claimed batch
worked in turn lets the lease of its tail run out while it waits behind slow Atlas calls (50 grants at
200 ms of Atlas each outlast a 10 s lease), and another replica may then claim those grants too. Up to
`concurrency` threads work at once, because a revocation mostly waits on Atlas: one thread at a time left
200 grants expiring over 4 s with two replicas revoked up to 34 s late (bench/revocation.py).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from access import lifecycle
from access.database_access import DatabaseUserSteps
from access.entities import Grant
from access.grant_records import GrantRecords, Observer, WorkerOptions
from access.model import GrantStatus, MembershipStatus, ResourceKind, UserAccess
from access.ports import AtlasGateway, Clock, CredentialVault, Notifier, StaleWrite, Store, UnitOfWork

log = logging.getLogger(__name__)
G = GrantStatus
UNREVEALED_EVERY = timedelta(seconds=5)
__all__ = ["GrantWorker", "WorkerOptions"]  # WorkerOptions lives in access.grant_records; importable here as before


class GrantWorker:
    def __init__(
        self, *, store: Store, gateways: Callable[[str], AtlasGateway], notifier: Notifier, clock: Clock,
        options: WorkerOptions, vault: CredentialVault, observer: Observer | None = None,
        clusters: DatabaseUserSteps | None = None,
    ) -> None:
        self._store = store
        self._gateways = gateways
        self._clock = clock
        # Saving, finishing a step with its audit row and telling people (the observer hears each step: the
        # metrics take revocation lateness), shared with the cluster branch.
        self._records = GrantRecords(store=store, notifier=notifier, clock=clock, options=options, observer=observer)
        self._options = options
        self._local = threading.local()  # what this thread's last claim prepared for its revocation
        self._unrevealed_at: datetime | None = None  # the last look for sign-ins never shown in time
        # Grants on clusters: temporary database users.
        self._clusters = clusters or DatabaseUserSteps(store=store, gateways=gateways, notifier=notifier,
                                                       clock=clock, records=self._records, vault=vault)

    @property
    def options(self) -> WorkerOptions:
        return self._options

    @options.setter
    def options(self, options: WorkerOptions) -> None:
        # Kept while bot/serve.py sizes `concurrency` after construction; the bookkeeping follows the change.
        self._options = self._records.options = options

    def run_due(self) -> int:
        """Claim and work every due grant, on up to `concurrency` threads; returns how many were worked.

        First, the cluster grants whose sign-in was never shown in time are ended, so this round deletes them (looked
        for at most every UNREVEALED_EVERY: a sign-in is held for minutes, and a round runs for each grant falling
        due, where a query each was a tenth of a replica's CPU in bench/revocation.py)."""
        now = self._clock.now()
        if self._unrevealed_at is None or now - self._unrevealed_at >= UNREVEALED_EVERY:
            self._unrevealed_at = now
            try:
                self._clusters.sweep_unrevealed()
            except Exception:
                log.exception("ending the grants whose credentials were never shown failed; the next round retries")
        first = self._claim()
        if first is None:
            return 0  # the usual sweep: nothing due, no thread started
        if self.options.concurrency < 2:
            return self._drain(first)
        return _Crew(self, size=self.options.concurrency).drain(first)

    def _drain(self, grant: Grant | None = None) -> int:
        """Work `grant`, then claim and work one more at a time until nothing is due."""
        worked = 0
        while (grant := grant or self._claim()) is not None:
            self._work_safely(grant)
            worked, grant = worked + 1, None
        return worked

    def _seconds_to_next_due(self) -> float | None:
        with self._store.unit_of_work() as uow:
            due = uow.grants.next_due_at()
        return None if due is None else (due - self._clock.now()).total_seconds()

    def _claim(self) -> Grant | None:
        """Lease the next due grant. An expired role grant is moved to REVOKING in the same transaction (one
        unit of work fewer per revocation), with the person's other live grants read for `_revoke`, which runs
        on this same thread."""
        now = self._clock.now()
        self._local.prepared = None
        with self._store.unit_of_work() as uow:
            claimed = uow.grants.claim_due(now=now, owner=self.options.owner,
                                           lease_seconds=self.options.lease_seconds, limit=1)
            if not claimed:
                return None
            grant = claimed[0]
            if grant.status is G.ACTIVE and grant.resource_kind is not ResourceKind.CLUSTER:
                others = _others(uow, grant)
                grant = uow.grants.save(lifecycle.move_grant(grant, G.REVOKING, now, next_attempt_at=now))
                self._local.prepared = _Prepared(grant_id=grant.id, others=others)
        return grant

    def _work_safely(self, grant: Grant) -> None:
        try:
            self._work(grant)
        except StaleWrite:
            log.info("grant %s moved on under another worker; leaving it", grant.id)
        except Exception:
            log.exception("grant %s: unexpected failure; its lease will expire and it will be retried", grant.id)

    def _work(self, grant: Grant) -> None:
        if grant.resource_kind is ResourceKind.CLUSTER:
            self._clusters.work(grant)
        elif grant.status is G.GRANTING:
            self._grant(grant)
        elif grant.status is G.INVITED:
            self._poll_invitation(grant)
        else:
            self._revoke(grant)

    # --- granting -------------------------------------------------------------------------------------

    def _grant(self, grant: Grant) -> None:
        gateway = self._gateways(grant.integration)
        # Until a look-up has gone through, nothing of this grant is in Atlas: the look-up the grant makes anyway
        # hands over what the person holds, and the baseline is saved then, before the first change (two calls
        # for a role: look up, add). Once taken it is kept: a later look-up could count roles this grant had
        # partly added as the person's own.
        baseline_taken = grant.baseline_at is not None
        recorded: Grant | None = None
        if baseline_taken:
            recorded = grant = self._records.save(replace(grant, attempts=grant.attempts + 1))

        def record_baseline(access: UserAccess) -> None:
            nonlocal recorded
            recorded = self._record_baseline(grant, access)

        try:
            result = gateway.grant(resource=grant.resource, username=grant.username, roles=grant.roles,
                                   before_change=None if baseline_taken else record_baseline)
        except StaleWrite:
            raise
        except Exception as error:
            if recorded is None:  # the look-up failed: Atlas was not changed, the next attempt looks again
                self._records.grant_failed(replace(grant, attempts=grant.attempts + 1), error, atlas_untouched=True)
            else:
                self._records.grant_failed(recorded, error)
            return
        if recorded is None:
            raise RuntimeError("the gateway granted without handing on its look-up")  # a broken adapter
        grant, now = recorded, self._clock.now()
        added_roles, added_user = tuple(sorted(result.added_roles)), result.added_user
        if baseline_taken:  # an earlier attempt got past its look-up and may have landed unanswered: credit it
            with self._store.unit_of_work() as uow:
                others = _settled_others(uow, grant)
            added_roles, added_user = lifecycle.attributed(grant, added_roles=result.added_roles,
                                                           added_user=result.added_user, others=others)
        changes = {"atlas_user_id": result.user_id, "added_roles": added_roles,
                   "added_user": added_user, "granted_at": now, "lease_owner": None, "lease_until": None}
        if result.status is MembershipStatus.ACTIVE:
            grant = lifecycle.activate(replace(grant, **changes), now=now)  # type: ignore[arg-type]
            self._records.finish(grant, "granted", added=list(grant.added_roles), baseline=list(grant.baseline_roles))
        else:
            grant = lifecycle.move_grant(
                grant, G.INVITED, now, expires_at=now + self.options.invitation_timeout,
                next_attempt_at=now + timedelta(seconds=self.options.invitation_poll_seconds), **changes,
            )
            self._records.finish(grant, "invited", added=list(grant.added_roles))

    def _record_baseline(self, grant: Grant, access: UserAccess) -> Grant:
        """Before the first change in Atlas: what the person holds that no bot grant gave them."""
        now = self._clock.now()
        with self._store.unit_of_work() as uow:
            baseline = lifecycle.baseline_for(access.roles, _settled_others(uow, grant))
            return uow.grants.save(replace(grant, baseline_roles=baseline, attempts=grant.attempts + 1,
                                           atlas_user_id=access.user_id, baseline_at=now, updated_at=now))

    def _poll_invitation(self, grant: Grant) -> None:
        now = self._clock.now()
        if grant.expires_at is not None and now >= grant.expires_at:
            self._revoke(grant, reason="invitation_not_accepted")
            return
        access = self._gateways(grant.integration).user_access(resource=grant.resource, username=grant.username)
        if access.status is MembershipStatus.ACTIVE:
            grant = lifecycle.activate(replace(grant, lease_owner=None, lease_until=None, atlas_user_id=access.user_id),
                                       now=now)
            self._records.finish(grant, "activated")
        elif access.status is None or access.status in (MembershipStatus.INVITATION_EXPIRED,
                                                         MembershipStatus.INVITATION_REJECTED):
            self._revoke(grant, reason="invitation_" + (access.status.value.lower() if access.status else "gone"))
        else:
            nxt = now + timedelta(seconds=self.options.invitation_poll_seconds)
            self._records.save(replace(grant, next_attempt_at=nxt, lease_owner=None, lease_until=None, updated_at=now))

    # --- revoking -------------------------------------------------------------------------------------

    def _revoke(self, grant: Grant, *, reason: str = "expired") -> None:
        now = self._clock.now()
        # A first try may remove roles by the recorded user id without a look-up; a later one (after a failure
        # or a crash, when the removal may have landed) looks first, so a removal never reaches Atlas twice.
        prepared: _Prepared | None = self._local.__dict__.pop("prepared", None)
        if prepared is not None and prepared.grant_id == grant.id:  # moved to REVOKING by its claim just now
            first_try, others = True, prepared.others
        else:
            first_try = grant.status in (G.ACTIVE, G.INVITED)
            with self._store.unit_of_work() as uow:
                others = _others(uow, grant)
                if first_try:
                    grant = uow.grants.save(lifecycle.move_grant(grant, G.REVOKING, now, next_attempt_at=now))
        roles = lifecycle.roles_to_remove(grant, others)
        remove_user = lifecycle.should_remove_user(grant, others)
        try:
            result = self._gateways(grant.integration).revoke(
                resource=grant.resource, username=grant.username, roles=roles, remove_user=remove_user,
                user_id=grant.atlas_user_id if first_try else None)
        except Exception as error:
            self._records.revoke_failed(grant, error)
            return
        grant = lifecycle.move_grant(grant, G.REVOKED, self._clock.now(), revoked_at=self._clock.now(),
                                     lease_owner=None, lease_until=None, next_attempt_at=None, last_error=None)
        # A grant that never reached Atlas (given up) was already explained to its requester: no second DM.
        kept = [r for r in grant.roles if r not in roles]
        why = lifecycle.revocation_reason(grant, reason)  # "I'm done" is no expiry, whatever woke the revocation
        self._records.finish(grant, "revoked", notify=grant.granted_at is not None, **why,
                     removed=sorted(result.removed_roles), removed_user=result.removed_user, kept=kept,
                     kept_by_others=tuple(r for r in kept if r not in grant.baseline_roles))


@dataclass(frozen=True)
class _Prepared:
    """A claim that moved an expired grant to REVOKING, and the person's other live grants it read."""

    grant_id: int | None
    others: list[Grant]


def _others(uow: UnitOfWork, grant: Grant) -> list[Grant]:
    """The person's other live grants on the resource."""
    return [g for g in uow.grants.live_for(username=grant.username, resource_id=grant.resource_id) if g.id != grant.id]


def _settled_others(uow: UnitOfWork, grant: Grant) -> list[Grant]:
    """The person's other live grants on the resource, those still granting left out (what they hold is unknown)."""
    return [g for g in uow.grants.live_for(username=grant.username, resource_id=grant.resource_id)
            if g.id != grant.id and g.status is not G.GRANTING]


class _Crew:
    """Threads draining due grants together for one `run_due`.

    A thread that has claimed a grant starts one more while there is room; one that finds nothing due stops,
    but for one, the watcher, while others still work: grants keep falling due during a burst, and without a
    watcher they would wait for a busy thread to finish its grant (at 100 expiries a second that made the
    median revocation half a second late, bench/revocation.py). The watcher sleeps until the next grant
    falls due (at most WATCH_SECONDS at a time), claims it, and so hands the watch to the thread it starts.
    The crew so grows with the backlog and shrinks as it clears: a fixed set of threads would lose for good
    every thread that found nothing due at the start of a burst, and fall behind for the rest of it.
    """

    WATCH_SECONDS = 0.5
    # After a claim that found nothing although something was due (another replica's claim held the row): the
    # watcher spun on next-due and claim queries, 15% of a replica's CPU while it revoked (py-spy).
    MISSED_SECONDS = 0.02

    def __init__(self, worker: GrantWorker, *, size: int) -> None:
        self._worker, self._size = worker, size
        self._state = threading.Condition()
        self._running = 0
        self._worked = 0
        self._watching = False
        self._pool: ThreadPoolExecutor | None = None

    def drain(self, first: Grant) -> int:
        with ThreadPoolExecutor(max_workers=self._size - 1, thread_name_prefix="grant-worker") as pool:
            self._pool = pool
            self._join()
            self._run(first)
            with self._state:
                self._state.wait_for(lambda: self._running == 0)
        return self._worked

    def _join(self) -> bool:
        with self._state:
            if self._running >= self._size:
                return False
            self._running += 1
            return True

    def _run(self, grant: Grant | None) -> None:
        try:
            while (grant := grant or self._worker._claim() or self._watch()) is not None:
                if self._pool is not None and self._join():
                    self._pool.submit(self._run, None)  # work is waiting: another pair of hands
                self._worker._work_safely(grant)
                with self._state:
                    self._worked += 1
                grant = None
        except Exception:
            log.exception("claiming due grants failed; the next sweep will try again")
        finally:
            with self._state:
                self._running -= 1
                self._state.notify_all()

    def _watch(self) -> Grant | None:
        """Nothing is due now: while other threads work, keep watch for the next grant to fall due."""
        with self._state:
            if self._watching or self._running < 2:
                return None  # another thread watches, or none works: the sweep's timer takes over
            self._watching = True
        try:
            missed = False
            while True:
                with self._state:
                    if self._running < 2:
                        return None
                wait = self._worker._seconds_to_next_due()
                if wait is None or wait > self.WATCH_SECONDS:
                    wait = self.WATCH_SECONDS
                if missed:  # due, yet another claimer holds it for now: no spinning on two queries meanwhile
                    wait = max(wait, self.MISSED_SECONDS)
                if wait > 0:
                    with self._state:  # a thread finishing wakes the watcher: maybe it is the last one
                        self._state.wait(wait)
                if (grant := self._worker._claim()) is not None:
                    return grant
                missed = wait <= self.MISSED_SECONDS
        finally:
            with self._state:
                self._watching = False

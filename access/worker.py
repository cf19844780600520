"""The grant worker: claims due grants with a lease and moves them on in Atlas (grant, poll invitation, revoke).

The database is the truth. Timers only wake `run_due`; any replica may run it. A claimed grant is worked
and saved with a compare-and-set, so a worker that lost its lease cannot mark anything done. Failures
back off with jitter and are retried forever; the integration owners hear about it after a few.

A lease covers the work of one grant: a claimed batch worked in turn lets the lease of its tail run out while
it waits behind slow Atlas calls (50 grants at 200 ms of Atlas each outlast a 10 s lease), and another replica
may then claim those grants too. So a claim takes at most as many grants as there are idle threads, and each
goes to a thread of its own at once (`_Crew`). Up to `concurrency` threads work at once, because a revocation
mostly waits on Atlas: one thread at a time left 200 grants expiring over 4 s with two replicas revoked up to
34 s late (bench/revocation.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from access import lifecycle
from access.database_access import DatabaseUserSteps
from access.entities import AccessRequest, Grant
from access.grant_records import FinishesMovedOn, GrantRecords, Observer, PendingFinish, WorkerOptions
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
        self._local = threading.local()  # `in_crew`: this thread works for this process's crew
        self._crew_lock = threading.Lock()
        self._crew: _Crew | None = None  # the crew draining now, if any
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

    def run_due(self, *, prompt: bool = True) -> int:
        """Claim and work every due grant, on up to `concurrency` threads; returns how many were worked.

        First, the cluster grants whose sign-in was never shown in time are ended, so this round deletes them (looked
        for at most every UNREVEALED_EVERY: a sign-in is held for minutes, and a round runs for each grant falling
        due, where a query each was a tenth of a replica's CPU in bench/revocation.py).

        With `concurrency` above 1 one crew drains per process (`_Crew`): a call wakes its dispatcher (starting one
        if none runs) and returns once the grants due at the call are worked, counting those its claims took. Two
        crews side by side each claimed for every grant falling due, and the exact-time timer was armed again
        after each (a claim, a next-due query and a timer job per grant, on both replicas: bench/revocation.py).

        `prompt`: someone waits on the outcome (a click's grant, a test), so while this call waits the finishes the
        crew's threads hand over are committed at once, each in a transaction of its own. The timers' sweeps pass
        False: nobody waits on them, and a sweep waited on the crew most of the time during a burst with a slow
        Atlas (429s, a second each), which had most finishes committed one by one instead of with the next claim
        (bench/revocation.py)."""
        now = self._clock.now()
        if self._unrevealed_at is None or now - self._unrevealed_at >= UNREVEALED_EVERY:
            self._unrevealed_at = now
            try:
                self._clusters.sweep_unrevealed()
            except Exception:
                log.exception("ending the grants whose credentials were never shown failed; the next round retries")
        if self.options.concurrency < 2:
            return self._drain()
        with self._crew_lock:
            ticket = self._crew.poke() if self._crew is not None else None
            if self._crew is None or ticket is None:
                self._crew = _Crew(self, size=self.options.concurrency)
                ticket = self._crew.poke()
                self._crew.start()
            crew = self._crew
        if getattr(self._local, "in_crew", False) or ticket is None:
            return 0  # asked from a grant the crew works: waiting for the crew would wait for itself
        return crew.wait(ticket, prompt=prompt)

    def watched_until(self) -> datetime | None:
        """While a crew drains, it watches for grants falling due: the timers need not look before this."""
        crew = self._crew
        if crew is None or not crew.draining:
            return None
        return self._clock.now() + timedelta(seconds=_Crew.WATCH_SECONDS)

    def _drain(self) -> int:
        """Claim and work one grant at a time until nothing is due."""
        worked = 0
        while claimed := self._claim(1)[0]:
            worked += self._work_safely(claimed[0])
        return worked

    def _claim(self, limit: int, *, next_due: bool = False,
               finishes: Sequence[PendingFinish] = ()) -> tuple[list[_Claimed], datetime | None]:
        """`_claim_in_one`, the finishes' saves written together; written one by one in a second transaction when
        one of their grants moved on (the first is rolled back: some may have been written)."""
        try:
            return self._claim_in_one(limit, next_due=next_due, finishes=finishes, together=True)
        except FinishesMovedOn:
            return self._claim_in_one(limit, next_due=next_due, finishes=finishes, together=False)

    def _claim_in_one(self, limit: int, *, next_due: bool, finishes: Sequence[PendingFinish],
                      together: bool) -> tuple[list[_Claimed], datetime | None]:
        """Lease up to `limit` due grants in one transaction; with `next_due`, and when none was due, also when
        the next one falls due (None: nothing is scheduled). `finishes`, handed over by the crew's threads, are
        written first in the same transaction (with `limit` 0, only they are).

        An expired role grant is moved to REVOKING by the claim's own statement (one unit of work and one
        statement fewer per revocation), with the person's other live grants read for `_revoke`. A person's grants
        on one resource claimed together are worked one after the other on one thread, each reading the others
        when its turn comes: revoked side by side, each would keep the roles the other one gives, and neither
        remove them. (Moved with the first, a later one is no first try: it looks in Atlas before it removes.)"""
        now = self._clock.now()
        found: dict[tuple[str, str], _Claimed] = {}
        due: datetime | None = None
        with self._store.unit_of_work() as uow:
            # The finishes the crew's threads handed over first: a person's grant finished here is no longer live
            # for the claim's read of the others below.
            self._records.write(uow, finishes, together=together)
            claimed, started = uow.grants.claim_due_starting_revocations(
                now=now, owner=self.options.owner, lease_seconds=self.options.lease_seconds, limit=limit) \
                if limit else ([], frozenset())
            expired = [g for g in claimed if g.id in started]
            # The others of each person's first grant here (the grants themselves left out: read for nothing, they
            # were a sixth of the claim's CPU), their grants claimed with it included, in one read.
            firsts = {(g.username, g.resource_id): g.id or 0 for g in reversed(claimed)}
            live: dict[tuple[str, str], list[Grant]] = {}
            for grant in uow.grants.live_for_each([(g.username, g.resource_id) for g in expired],
                                                  excluding=firsts.values()):
                live.setdefault((grant.username, grant.resource_id), []).append(grant)
            # Their requests too, in one read, for the revocation's messages: not one read a grant as each finishes.
            requests = uow.requests.get_many([g.request_id for g in expired])
            for grant in claimed:
                key = (grant.username, grant.resource_id)
                if key in found:  # the same person's grant on the same resource: worked after it, on its thread
                    found[key].later.append(grant)
                elif grant.id in started:  # an expired grant the claim moved to REVOKING
                    others = live.get(key, [])  # read without this grant
                    # Read before this claim commits, the others may be moving to REVOKING on another replica
                    # right now (due too, or ending): then they are read again after the commit, when each of two
                    # such claims sees at least the other's move, so one of them takes the shared roles away.
                    settled = all(g.status is G.ACTIVE and g.expires_at is not None and g.expires_at > now
                                  for g in others)
                    found[key] = _Claimed(grant=grant, others=others if settled else None,
                                          request=requests.get(grant.request_id))
                else:
                    found[key] = _Claimed(grant=grant)
            if next_due and limit and not found:
                due = uow.grants.next_due_at()
        return list(found.values()), due

    def _work_safely(self, claimed: _Claimed) -> int:
        """Work a claimed grant (and those claimed with it, in turn); how many."""
        for grant, others, request in ((claimed.grant, claimed.others, claimed.request),
                                       *((later, None, None) for later in claimed.later)):
            try:
                self._work(grant, others=others, request=request)
            except StaleWrite:
                log.info("grant %s moved on under another worker; leaving it", grant.id)
            except Exception:
                log.exception("grant %s: unexpected failure; its lease will expire and it will be retried", grant.id)
        return 1 + len(claimed.later)

    def _work(self, grant: Grant, *, others: list[Grant] | None = None, request: AccessRequest | None = None) -> None:
        if grant.resource_kind is ResourceKind.CLUSTER:
            self._clusters.work(grant)
        elif grant.status is G.GRANTING:
            self._grant(grant)
        elif grant.status is G.INVITED:
            self._poll_invitation(grant)
        else:
            self._revoke(grant, others=others, request=request)

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
            self._records.finish(grant, "granted", since=recorded, added=list(grant.added_roles),
                                 baseline=list(grant.baseline_roles))
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

    def _revoke(self, grant: Grant, *, reason: str = "expired", others: list[Grant] | None = None,
                request: AccessRequest | None = None) -> None:
        """`others`: the person's other live grants, read by the claim that moved this one to REVOKING just now;
        `request`: its request, read by that claim too (None: the finish reads it)."""
        now = self._clock.now()
        # A first try may remove roles by the recorded user id without a look-up; a later one (after a failure
        # or a crash, when the removal may have landed) looks first, so a removal never reaches Atlas twice.
        # An active grant's person was a member when granted: no invitation to withdraw, so even their removal
        # from the project may go by id (an invited one's removal looks first: it may withdraw the invitation).
        if others is not None:  # moved to REVOKING by its claim just now (it was ACTIVE)
            first_try = member = True
        else:
            first_try, member = grant.status in (G.ACTIVE, G.INVITED), grant.status is G.ACTIVE
            with self._store.unit_of_work() as uow:
                others = _others(uow, grant)
                if first_try:
                    grant = uow.grants.save(lifecycle.start_revocation(grant, now))
        stored = grant  # as saved: the finish writes only what it changes
        roles = lifecycle.roles_to_remove(grant, others)
        remove_user = lifecycle.should_remove_user(grant, others)
        try:
            result = self._gateways(grant.integration).revoke(
                resource=grant.resource, username=grant.username, roles=roles, remove_user=remove_user,
                user_id=grant.atlas_user_id if first_try and (member or not remove_user) else None)
        except Exception as error:
            self._records.revoke_failed(grant, error)
            return
        grant = lifecycle.move_grant(grant, G.REVOKED, self._clock.now(), revoked_at=self._clock.now(),
                                     lease_owner=None, lease_until=None, next_attempt_at=None, last_error=None)
        # A grant that never reached Atlas (given up) was already explained to its requester: no second DM.
        kept = [r for r in grant.roles if r not in roles]
        why = lifecycle.revocation_reason(grant, reason)  # "I'm done" is no expiry, whatever woke the revocation
        self._records.finish(grant, "revoked", since=stored, request=request, notify=grant.granted_at is not None,
                             **why, removed=sorted(result.removed_roles), removed_user=result.removed_user, kept=kept,
                             kept_by_others=tuple(r for r in kept if r not in grant.baseline_roles))


class _Ticket:
    """What a crew thread waits on for its finish: answered once the dispatcher committed it, or will not."""

    def __init__(self) -> None:
        self.answered = threading.Event()
        self.committed = False


@dataclass(frozen=True, kw_only=True)
class _Claimed:
    """A claimed grant; `others` when the claim moved it (expired) to REVOKING: the person's other live grants."""

    grant: Grant
    others: list[Grant] | None = None
    request: AccessRequest | None = None  # the grant's request, read by the claim (for the messages)
    later: list[Grant] = field(default_factory=list)  # the same person's grants on the resource, claimed with it


def _others(uow: UnitOfWork, grant: Grant) -> list[Grant]:
    """The person's other live grants on the resource."""
    return [g for g in uow.grants.live_for(username=grant.username, resource_id=grant.resource_id) if g.id != grant.id]


def _settled_others(uow: UnitOfWork, grant: Grant) -> list[Grant]:
    """The person's other live grants on the resource, those still granting left out (what they hold is unknown)."""
    return [g for g in uow.grants.live_for(username=grant.username, resource_id=grant.resource_id)
            if g.id != grant.id and g.status is not G.GRANTING]


class _Crew:
    """Threads working due grants together, and a dispatcher thread claiming for them.

    The dispatcher claims as many due grants as there are idle threads, in one transaction, and hands each to a
    thread of its own at once: a lease so covers the work of one grant, never a queue behind slow Atlas calls
    (50 grants at 200 ms of Atlas each outlast a 10 s lease). After a claim that found some it rests a tick
    (TICK_SECONDS); after one that found none, until the next grant falls due (asked in the same transaction),
    at least a tick and at most WATCH_SECONDS; and, when every thread is busy, until one is free. The grants
    falling due meanwhile are claimed together. A claim for each grant
    falling due, by every idle thread and by a watcher on each replica, with a next-due query each time, was
    the largest share of a replica's CPU during a burst (py-spy on bench/revocation.py); the tick adds at most
    100 ms to a revocation's lateness. Each claim costs about the same whatever it takes (a transaction of four
    statements), so the tick sets how many grants share one: 100 ms rather than 50 took about a twentieth off
    the CPU per revocation at 100 expiries a second, for 50 ms more lateness at worst. The threads' finishes
    (save and audit row) are committed in the next claim's transaction too (`take_finish`), or at once while a
    prompt caller waits (`run_due(prompt=True)`: an approval, a test; not the timers' sweeps). The crew ends when
    a claim finds nothing, no thread works and nothing falls due within WATCH_SECONDS: the timers take over
    (`bot.scheduler`).

    `run_due` pokes the dispatcher and waits for its ticket: until a claim begun after the poke has left
    nothing due, and the grants worked at that moment are done (what was due at the call is then worked).
    """

    WATCH_SECONDS = 0.5
    TICK_SECONDS = 0.1

    def __init__(self, worker: GrantWorker, *, size: int) -> None:
        self._worker, self._size = worker, size
        self._state = threading.Condition()
        self._running = 0
        self._working: set[int] = set()  # the id() of each _Claimed being worked
        self._handed = 0  # grants handed to threads so far
        self._pokes = 0
        self._poked = False
        # At the last claim that left nothing due: the pokes it answered, the grants being worked, _handed.
        self._cleared: tuple[int, frozenset[int], int] = (0, frozenset(), 0)
        self._ending = self._ended = False
        self._error: Exception | None = None
        # Finishes handed over by the crew's threads, committed with the next claim (`take_finish`), each with the
        # ticket its thread waits on; when the oldest of them came.
        self._finishes: list[tuple[PendingFinish, _Ticket]] = []
        self._finishes_since = 0.0
        self._waiters = 0  # prompt callers in `wait`: while any waits, finishes are committed at once
        self._callers = 0  # callers in `wait`, prompt or not: they hear of every grant done
        self._thread = threading.Thread(target=self._main, name="grant-dispatcher", daemon=True)

    @property
    def draining(self) -> bool:
        return not self._ending

    def start(self) -> None:
        self._thread.start()

    def poke(self) -> tuple[int, int] | None:
        """Ask for a claim now; the ticket to `wait` on, or None when the crew is ending (start another)."""
        with self._state:
            if self._ending:
                return None
            self._pokes += 1
            self._poked = True
            self._state.notify_all()
            return self._pokes, self._handed

    def wait(self, ticket: tuple[int, int], *, prompt: bool = True) -> int:
        """Until what was due at the poke is worked; how many grants the claims since took. Raises what stopped the
        dispatcher before it answered the poke (the database away, say). `prompt`: while this waits, finishes are
        committed at once (see `GrantWorker.run_due`)."""
        poke, handed_before = ticket
        waiter = 1 if prompt else 0
        with self._state:
            self._callers += 1
            if prompt:
                self._waiters += 1
                self._state.notify_all()  # finishes waiting for a claim are committed at once while someone waits
            try:
                self._state.wait_for(lambda: self._ended or self._cleared[0] >= poke)
                if self._cleared[0] < poke:
                    if self._error is not None:
                        raise self._error
                    return self._handed - handed_before
                _, working, handed = self._cleared
                self._state.wait_for(lambda: self._ended or not working & self._working)
                return handed - handed_before
            finally:
                self._waiters -= waiter
                self._callers -= 1

    def take_finish(self, item: PendingFinish) -> bool:
        """A crew thread's finish (`GrantRecords.finishing_through`), committed in the dispatcher's next claim
        transaction, at most a tick later: a finish in a transaction of its own (BEGIN, save, audit row, COMMIT)
        was a quarter of a replica's CPU at 100 expiries a second, the claim's transaction runs anyway, and the
        revocation's moment (`revoked_at`) is the Atlas answer's, not the commit's. True once committed (the item
        says how it went); False when the dispatcher will not (ending, or its transaction failed): the thread
        then commits it itself, as it would have."""
        ticket = _Ticket()
        with self._state:
            if self._ending:
                return False
            first = not self._finishes
            if first:
                self._finishes_since = time.monotonic()
            self._finishes.append((item, ticket))
            # The dispatcher, resting, needs to hear only of the first finish (its commit is due a tick after it,
            # the others' with it) or of one someone waits on (committed at once): waking it for each finish, to
            # find nothing changed, was a twentieth of a replica's CPU at 100 expiries a second.
            if first or self._waiters:
                self._state.notify_all()
        # On a ticket of its own, not the crew's condition: a dozen threads waiting there were all woken by every
        # change of the crew's state, a few times for each grant.
        ticket.answered.wait()
        return ticket.committed

    @staticmethod
    def _answer(finishes: list[tuple[PendingFinish, _Ticket]], *, committed: bool) -> None:
        for _, ticket in finishes:
            ticket.committed = committed
            ticket.answered.set()

    def _main(self) -> None:
        try:
            with ThreadPoolExecutor(max_workers=self._size, thread_name_prefix="grant-worker") as pool:
                try:
                    self._dispatch(pool)
                except Exception as error:  # told to the callers waiting (the timers log it)
                    with self._state:
                        self._error = error
                        self._stop_taking_finishes()
                except BaseException:  # the threads must not wait for it: the pool's exit waits for them
                    with self._state:
                        self._stop_taking_finishes()
                    raise
                with self._state:
                    self._state.wait_for(lambda: self._running == 0)
        finally:
            with self._state:
                self._stop_taking_finishes()
                self._ended = True

    def _stop_taking_finishes(self) -> None:
        """(Holding the state.) No more finishes are taken; those handed over are committed by their own threads."""
        self._ending = True
        self._answer(self._finishes, committed=False)
        self._finishes = []
        self._state.notify_all()

    def _dispatch(self, pool: ThreadPoolExecutor) -> None:
        wait, claimed_at = 0.0, time.monotonic()
        clock = self._worker._clock
        while True:
            claiming = self._rest(until=claimed_at + wait) if wait > 0 else True
            with self._state:
                room, pokes = (self._size - self._running if claiming else 0), self._pokes
                if room:
                    self._poked = False
                finishes, self._finishes = self._finishes, []
            try:
                found, due = self._worker._claim(room, next_due=True, finishes=[item for item, _ in finishes])
            except BaseException:
                self._answer(finishes, committed=False)
                raise
            self._answer(finishes, committed=True)
            if not room:  # only the finishes were due (or every thread is busy): the rest goes on as it was
                continue
            claimed_at = time.monotonic()
            ahead = None if due is None else (due - clock.now()).total_seconds()
            grants = sum(1 + len(claimed.later) for claimed in found)
            with self._state:
                self._working.update(id(claimed) for claimed in found)
                self._running += len(found)
                self._handed += grants
                if grants < room:  # nothing more is due now
                    self._cleared = (pokes, frozenset(self._working), self._handed)
                    self._state.notify_all()
                if not found and not self._running and not self._poked and (ahead is None
                                                                              or ahead > self.WATCH_SECONDS):
                    self._ending = True
                    return
            for claimed in found:
                pool.submit(self._work, claimed)
            if found:  # more may fall due meanwhile: claimed together a tick later (once a thread is free)
                wait = self.TICK_SECONDS
            else:
                wait = self.WATCH_SECONDS if ahead is None else min(max(ahead, self.TICK_SECONDS), self.WATCH_SECONDS)

    def _rest(self, *, until: float) -> bool:
        """Until `until` (monotonic) or a poke, and a thread is free (True: claim); or until the finishes handed over
        are due their commit (False: commit them alone): a tick after the oldest came, at once while someone waits
        on the crew. While grants keep falling due the claim comes first, a tick after the last, and takes them."""
        with self._state:
            while True:
                now = time.monotonic()
                free = self._running < self._size
                left = until - now
                if free and (self._poked or left <= 0):
                    return True
                timeout = left if free else self.WATCH_SECONDS
                if self._finishes:
                    commit_in = 0.0 if self._waiters else self._finishes_since + self.TICK_SECONDS - now
                    if commit_in <= 0:
                        return False
                    timeout = min(timeout, commit_in)
                self._state.wait(timeout)

    def _work(self, claimed: _Claimed) -> None:
        self._worker._local.in_crew = True
        try:
            with self._worker._records.finishing_through(self.take_finish):
                self._worker._work_safely(claimed)
        finally:
            with self._state:
                self._running -= 1
                self._working.discard(id(claimed))
                # Heard by: the callers waiting for the grants at their poke; the dispatcher when every thread was
                # busy (a claim can go again); the crew's end, once none works. Not the resting dispatcher
                # otherwise: nothing it waits for changed.
                if self._callers or self._running in (0, self._size - 1):
                    self._state.notify_all()

"""In-memory timers (APScheduler 3) that wake the grant sweep and the scheduled sync.

The database stays the truth: these jobs only say "look now". A periodic sweep runs on every replica; after
each sweep one exact-time job is set for the earliest due grant so expiries are not late by a whole interval.
APScheduler's SQLAlchemy job store is deliberately not used (it deletes a date job before running it and
must not be shared between processes).

A request is stored (and Slack's ack sent) before its approval message is posted. If the process dies in
between, or Slack was down, the request would wait forever unseen: every sweep interval, pending requests
without a message that nobody touched for a lease are announced again by whichever replica claims them first.

In every round one integration's (or one request's, one grant's) failure is its own: it is logged, told to that
integration's owners once while it lasts, and the round goes on with the others (see `access.rounds`).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from access.errors import RequestRefused, StoreUnavailable
from access.reconcile import ReconcileService
from access.recovery import StrandedRequests
from access.rounds import FaultIsolation
from access.timeouts import ExpiryReminders, PendingTimeouts
from bot.app import Runtime

log = logging.getLogger(__name__)


class Timers:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        notifier = runtime.notifier
        self._isolation = FaultIsolation(store=runtime.store, notifier=notifier, ledger=runtime.alerts)
        self._expiry = ExpiryReminders(store=runtime.store, notifier=notifier, clock=runtime.clock,
                                       lead=timedelta(minutes=runtime.settings.expiry_reminder_minutes),
                                       isolation=self._isolation)
        self._stranded = StrandedRequests(store=runtime.store, announcer=runtime.service, clock=runtime.clock,
                                          quiet_for=timedelta(seconds=runtime.settings.lease_seconds),
                                          isolation=self._isolation)
        self._pending = PendingTimeouts(store=runtime.store, notifier=notifier, clock=runtime.clock,
                                        isolation=self._isolation)
        self._scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(4)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30},
            timezone="UTC",
        )

    def start(self) -> None:
        settings = self._runtime.settings
        self._scheduler.add_job(self.sweep, "interval", seconds=settings.sweep_interval_seconds, id="sweep")
        self._scheduler.add_job(self.remind_expiring, "interval", seconds=max(settings.sweep_interval_seconds, 30),
                                id="remind")
        self._scheduler.add_job(self.pending_timeouts, "interval", seconds=max(settings.sweep_interval_seconds, 30),
                                id="pending")
        self._scheduler.add_job(self.announce_stranded, "interval", seconds=settings.sweep_interval_seconds,
                                id="announce")
        if settings.sync_interval_minutes > 0:
            self._scheduler.add_job(self.sync_all, "interval", minutes=settings.sync_interval_minutes, id="sync")
        self._scheduler.add_job(self.rotate_due, "interval", minutes=settings.rotation_check_minutes, id="rotate")
        if settings.reconcile_interval_minutes > 0:
            self._scheduler.add_job(self.reconcile_all, "interval", minutes=settings.reconcile_interval_minutes,
                                    id="reconcile")
        self._scheduler.start()

    def stop(self) -> None:
        self._scheduler.shutdown(wait=False)

    def sweep(self) -> None:
        try:
            worked = self._runtime.worker.run_due(prompt=False)  # nobody waits on a sweep's finishes
            if worked:
                log.info("sweep worked %d grants", worked)
            self._arm_next()
        except Exception as error:
            _failed("sweep failed; the next one will try again", error)

    def _arm_next(self) -> None:
        with self._runtime.store.unit_of_work() as uow:
            due = uow.grants.next_due_at()
        if due is None:
            return
        now = self._runtime.clock.now()
        if due - now > timedelta(seconds=self._runtime.settings.sweep_interval_seconds):
            return  # the periodic sweep comes first anyway
        # While the worker's crew drains it watches for grants falling due itself: the timer only has to take over
        # if it ends, not fire (with a claim and this query) for each grant of a burst.
        watched = self._runtime.worker.watched_until()
        if watched is not None:
            due = max(due, watched)
        # Two instances: this timer is often armed by a "next-due" run that has yet to finish, and fires at once
        # when the grant is due already. With one instance allowed, APScheduler skipped that run and dropped the
        # one-shot job, so later grants waited for the periodic sweep (stalls of 4 s in bench/revocation.py). A
        # run skipped with two running is harmless: each of them arms the timer again as it ends.
        self._scheduler.add_job(self.sweep, "date", run_date=max(due, now), id="next-due", replace_existing=True,
                                max_instances=2)

    def announce_stranded(self) -> None:
        """Post the approval message of pending requests that have none and have not moved for a lease
        (access.recovery), and send again the updates and DMs Slack refused (see SlackNotifier.redeliver)."""
        try:
            self._stranded.run()
        except Exception as error:
            _failed("announcing stranded requests failed; the next round will try again", error)
        try:
            self._runtime.notifier.redeliver()  # messages and DMs Slack refused through every retry, sent again
        except Exception as error:
            _failed("sending again what Slack refused failed; the next round will try again", error)

    def remind_expiring(self) -> None:
        """DM requesters whose access ends within the reminder lead (each grant once; see access.timeouts)."""
        try:
            sent = self._expiry.run()
            if sent:
                log.info("sent %d expiry reminders", sent)
        except Exception as error:
            _failed("expiry reminders failed; the next round will try again", error)

    def pending_timeouts(self) -> None:
        """Remind, escalate and expire undecided requests as their flows say (see access.timeouts)."""
        try:
            taken = self._pending.run()
            if taken:
                log.info("took %d steps on undecided requests", taken)
        except Exception as error:
            _failed("pending request timeouts failed; the next round will try again", error)

    def sync_all(self) -> None:
        """Refresh every enabled integration's inventory from Atlas."""
        try:
            with self._isolation.round("scheduled sync") as round_:
                for name in self._runtime.sync.integrations():
                    round_.attempt(name, partial(self._sync, name, actor="schedule"))
        except Exception as error:
            _failed("the scheduled sync failed; the next one will try again", error)

    def _sync(self, name: str, *, actor: str) -> None:
        try:
            self._runtime.sync.run(name, actor=actor)
        except RequestRefused as refused:  # a sync someone started is running: it does this one's work
            log.info("%s: %s", name, refused.reason)

    def rotate_due(self) -> None:
        """Rotate every integration whose period has passed (or whose old credential still waits to go)."""
        try:
            with self._isolation.round("credential rotation") as round_:
                for name in self._runtime.rotation.candidates():
                    round_.attempt(name, partial(self._rotate_if_due, name))
        except Exception as error:
            _failed("the credential rotation check failed; the next one will try again", error)

    def _rotate_if_due(self, name: str) -> None:
        if not self._runtime.rotation.is_due(name):
            return
        try:
            outcome = self._runtime.rotation.rotate(name)
        except RequestRefused as refused:  # an admin's rotation of it is running
            log.info("%s: %s", name, refused.reason)
            return
        log.info("credential rotation of %s: %s", name, outcome.message)  # a failure told its owners itself

    def reconcile_all(self) -> None:
        """Sync, then compare Atlas with the grants of every integration (see `access.reconcile`)."""
        reconcile = self._runtime.reconcile
        if reconcile is None:
            return
        try:
            with self._isolation.round("reconciliation") as round_:
                for name in self._runtime.sync.integrations():
                    round_.attempt(name, partial(self._reconcile, reconcile, name))
        except Exception as error:
            _failed("reconciliation failed; the next one will try again", error)

    def _reconcile(self, reconcile: ReconcileService, name: str) -> None:
        self._sync(name, actor="reconcile")
        report = reconcile.run(name)
        log.info("reconciliation of %s: %d redone, %d closed, %d unmanaged", name, len(report.redone),
                 len(report.closed), len(report.unmanaged))
        if report.errors:  # the grants it could check are done; the others are this round's failure to tell
            kinds = sorted({error.rsplit(": ", 1)[-1] for error in report.errors})
            raise ReconcileIncomplete(f"some grants or roles could not be checked ({', '.join(kinds)})")


class ReconcileIncomplete(Exception):
    """A reconciliation pass that could not check everything (`ReconcileReport.errors`)."""


def _failed(what: str, error: Exception) -> None:
    """A timer's failure: with its traceback, but one line a round while the database is away (a restart or
    failover: /healthz says so already, and a traceback every few seconds would bury the rest)."""
    if isinstance(error, StoreUnavailable):
        log.warning("%s (the database is unreachable: %s)", what, error.cause)
    else:
        log.exception(what)

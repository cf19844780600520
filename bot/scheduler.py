"""In-memory timers (APScheduler 3) that wake the grant sweep and the scheduled sync.

The database stays the truth: these jobs only say "look now". A periodic sweep runs on every replica; after
each sweep one exact-time job is set for the earliest due grant so expiries are not late by a whole interval.
APScheduler's SQLAlchemy job store is deliberately not used (it deletes a date job before running it and
must not be shared between processes).

A request is stored (and Slack's ack sent) before its approval message is posted. If the process dies in
between, or Slack was down, the request would wait forever unseen: every sweep interval, pending requests
without a message that nobody touched for a lease are announced again by whichever replica claims them first.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.exc import DBAPIError, OperationalError

from access.ports import StaleWrite
from access.timeouts import ExpiryReminders, PendingTimeouts
from bot.app import Runtime

log = logging.getLogger(__name__)


class Timers:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
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
            worked = self._runtime.worker.run_due()
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
        # Two instances: this timer is often armed by a "next-due" run that has yet to finish, and fires at once
        # when the grant is due already. With one instance allowed, APScheduler skipped that run and dropped the
        # one-shot job, so later grants waited for the periodic sweep (stalls of 4 s in bench/revocation.py). A
        # run skipped with two running is harmless: each of them arms the timer again as it ends.
        self._scheduler.add_job(self.sweep, "date", run_date=max(due, now), id="next-due", replace_existing=True,
                                max_instances=2)

    def announce_stranded(self) -> None:
        """Post the approval message of pending requests that have none and have not moved for a lease, and
        send again the updates and DMs Slack refused (see SlackNotifier.redeliver)."""
        try:
            for request_id in self._claim_stranded():
                log.info("request %s has no approval message yet; announcing it", request_id)
                self._runtime.service.announce(request_id=request_id)
            redeliver = getattr(self._runtime.extras.get("notifier"), "redeliver", None)
            if redeliver is not None:  # messages and DMs Slack refused through every retry, sent again
                redeliver()
        except Exception as error:
            _failed("announcing stranded requests failed; the next round will try again", error)

    def _claim_stranded(self) -> list[int]:
        """Stranded requests, each claimed by a compare-and-set on `updated_at` so one replica announces it."""
        now = self._runtime.clock.now()
        quiet_since = now - timedelta(seconds=self._runtime.settings.lease_seconds)
        with self._runtime.store.unit_of_work() as uow:
            stranded = [r for r in uow.requests.pending() if r.message_ts is None and r.updated_at <= quiet_since]
        claimed = []
        for request in stranded:
            try:
                with self._runtime.store.unit_of_work() as uow:
                    uow.requests.save(replace(request, updated_at=now))
            except StaleWrite:
                continue  # another replica took it, or it moved on
            claimed.append(request.id or 0)
        return claimed

    def remind_expiring(self) -> None:
        """DM requesters whose access ends within the reminder lead (each grant once; see access.timeouts)."""
        try:
            sent = expiry_reminders(self._runtime).run()
            if sent:
                log.info("sent %d expiry reminders", sent)
        except Exception as error:
            _failed("expiry reminders failed; the next round will try again", error)

    def pending_timeouts(self) -> None:
        """Remind, escalate and expire undecided requests as their flows say (see access.timeouts)."""
        try:
            taken = PendingTimeouts(store=self._runtime.store, notifier=self._runtime.extras["notifier"],
                                    clock=self._runtime.clock).run()
            if taken:
                log.info("took %d steps on undecided requests", taken)
        except Exception as error:
            _failed("pending request timeouts failed; the next round will try again", error)

    def sync_all(self) -> None:
        for name in self._runtime.sync.integrations():
            try:
                self._runtime.sync.run(name, actor="schedule")
            except Exception as error:
                log.warning("scheduled sync of %s failed: %s", name, error)

    def rotate_due(self) -> None:
        """Rotate every integration whose period has passed (or whose old credential still waits to go)."""
        for name in self._runtime.rotation.due():
            try:
                outcome = self._runtime.rotation.rotate(name)
                log.info("credential rotation of %s: %s", name, outcome.message)
            except Exception:
                log.exception("credential rotation of %s failed; it will be retried", name)

    def reconcile_all(self) -> None:
        """Sync, then compare Atlas with the grants of every integration (see `access.reconcile`)."""
        reconcile = self._runtime.reconcile
        if reconcile is None:
            return
        for name in self._runtime.sync.integrations():
            try:
                self._runtime.sync.run(name, actor="reconcile")
                report = reconcile.run(name)
                log.info("reconciliation of %s: %d redone, %d closed, %d unmanaged", name, len(report.redone),
                         len(report.closed), len(report.unmanaged))
            except Exception:
                log.exception("reconciliation of %s failed; the next one will try again", name)


def expiry_reminders(runtime: Runtime) -> ExpiryReminders:
    """The runtime's ExpiryReminders, made once, with the lead from the settings."""
    found = runtime.extras.get("expiry_reminders")
    if found is None:
        lead = timedelta(minutes=runtime.settings.expiry_reminder_minutes)
        found = ExpiryReminders(store=runtime.store, notifier=runtime.extras["notifier"], clock=runtime.clock,
                                lead=lead)
        runtime.extras["expiry_reminders"] = found
    return found


def _failed(what: str, error: Exception) -> None:
    """A timer's failure: with its traceback, but one line a round while the database is away (a restart or
    failover: /healthz says so already, and a traceback every few seconds would bury the rest)."""
    if isinstance(error, OperationalError) or (isinstance(error, DBAPIError) and error.connection_invalidated):
        log.warning("%s (the database is unreachable: %s)", what, type(error.orig).__name__)
    else:
        log.exception(what)

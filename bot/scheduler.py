"""In-memory timers (APScheduler 3) that wake the grant sweep and the scheduled sync.

The database stays the truth: these jobs only say "look now". A periodic sweep runs on every replica; after
each sweep one exact-time job is set for the earliest due grant so expiries are not late by a whole interval.
APScheduler's SQLAlchemy job store is deliberately not used (it deletes a date job before running it and
must not be shared between processes).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

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
        if settings.sync_interval_minutes > 0:
            self._scheduler.add_job(self.sync_all, "interval", minutes=settings.sync_interval_minutes, id="sync")
        self._scheduler.add_job(self.rotate_due, "interval", minutes=settings.rotation_check_minutes, id="rotate")
        self._scheduler.start()

    def stop(self) -> None:
        self._scheduler.shutdown(wait=False)

    def sweep(self) -> None:
        try:
            worked = self._runtime.worker.run_due()
            if worked:
                log.info("sweep worked %d grants", worked)
            self._arm_next()
        except Exception:
            log.exception("sweep failed; the next one will try again")

    def _arm_next(self) -> None:
        with self._runtime.store.unit_of_work() as uow:
            due = uow.grants.next_due_at()
        if due is None:
            return
        now = self._runtime.clock.now()
        if due - now > timedelta(seconds=self._runtime.settings.sweep_interval_seconds):
            return  # the periodic sweep comes first anyway
        self._scheduler.add_job(self.sweep, "date", run_date=max(due, now), id="next-due", replace_existing=True)

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

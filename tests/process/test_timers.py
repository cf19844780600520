"""The timers: an exact-time timer armed while an earlier run of it is still going fires all the same.

The one-shot "next-due" job is armed by every sweep for the next grant due. When it fired while a run of the
same job was still going (a revocation waiting on Atlas, or the run that armed it still finishing), APScheduler
skipped it (one instance per job) and dropped it, and the grant waited for the periodic sweep: 4 s stalls in
bench/revocation.py. Here the timers run in this process on a one-at-a-time worker, so nothing else (the
crew's watcher in `serve`) picks the grant up in their place.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from access.model import GrantStatus
from bot.scheduler import Timers
from storage.testing import sqlite_url
from tests.process.expiring import seed_grants, seed_people
from tests.process.world import ProcessWorld, now, wait

ON_TIME = 1.5  # seconds; the periodic sweep comes every 5 s


def test_a_grant_falling_due_while_a_timer_run_waits_on_atlas_is_revoked_on_time(tmp_path: Path) -> None:
    world = ProcessWorld(tmp_path, database_url=sqlite_url(tmp_path, "process.db"))
    runtime = world.runtime
    assert runtime.worker.options.concurrency == 1 and world.settings.sweep_interval_seconds == 5
    timers = Timers(runtime)
    try:
        # given two grants: the first (p0, added to the project) falls due in 1.5 s and its removal is held at
        # Atlas's door; the second (p1, a role of their own) falls due 1 s after the first periodic sweep
        group_id = world.projects["payments"]
        people = seed_people(sandbox=world.sb, sim=world.sim, org_id=world.org_id, group_id=group_id, count=2)
        door = world.sb.hold("removeGroupUser")
        timers.start()
        started = now()
        held, second = seed_grants(store=runtime.store, org_id=world.org_id, group_id=group_id, people=people,
                                   expiries=[started + timedelta(seconds=1.5), started + timedelta(seconds=6)])
        timers.sweep()  # the first sweep, which arms the exact-time timer for the first grant

        # when the first one's run of the timer waits at the door
        door.wait_arrival(10)

        # then the second is revoked within ON_TIME of its expiry all the same, by the timer the periodic sweep
        # armed for it (not 4 s later by the next periodic sweep)
        def revoked() -> object:
            grant = next(g for g in world.all_grants() if g.id == second.grant_id)
            return grant if grant.status is GrantStatus.REVOKED else None

        grant = wait(revoked, timeout=15, what="the second revocation")
        assert (grant.revoked_at - second.expires_at).total_seconds() <= ON_TIME  # type: ignore[attr-defined]

        # and the held one finishes once Atlas answers
        door.release()
        wait(lambda: all(g.status is GrantStatus.REVOKED for g in world.all_grants()), what="the held one")
    finally:
        timers.stop()
        world.close()

"""Grants falling due while the worker waits on Atlas for another are revoked on time, not after it.

A real `serve` with its periodic sweep far apart (4 s), so that only the exact-time timer and the crew's
watcher can pick a grant up on time: one revocation is held at Atlas's door for 8 s while six more grants
fall due, 0.9 s apart. Without a watcher they waited for the held one or the next periodic sweep (up to 4 s).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from access.model import GrantStatus
from tests.process.expiring import seed_grants, seed_people
from tests.process.world import ProcessWorld, now, wait

pytestmark = pytest.mark.postgres
G = GrantStatus
ON_TIME = 1.5  # seconds: the watcher's 0.5 s, a revocation's own calls and a busy 2-core machine


def test_grants_falling_due_while_one_revocation_waits_on_atlas_are_revoked_on_time(tmp_path: Path,
                                                                                   postgres_url: str) -> None:
    world = ProcessWorld(tmp_path, database_url=postgres_url, sweep_seconds=4.0, lease_seconds=30.0)
    try:
        world.spawn(env={"ATLAS_MAX_CONCURRENCY": "4"})
        group_id = world.projects["payments"]
        # given seven people holding READ through grants: the first (p0, no role of their own) expires in 3 s,
        # and its removal from the project is held at Atlas's door; six more (p1, p3 ... with a role of their
        # own, so a role removal, not held) expire one after another while it waits
        people = seed_people(sandbox=world.sb, sim=world.sim, org_id=world.org_id, group_id=group_id, count=13)
        held_person, others = people[0], [p for i, p in enumerate(people) if i % 2][:6]
        start = now() + timedelta(seconds=3)
        expiries = [start, *(start + timedelta(seconds=1.5 + 0.9 * i) for i in range(6))]
        door = world.sb.hold("removeGroupUser")
        seeded = seed_grants(store=world.runtime.store, org_id=world.org_id, group_id=group_id,
                             people=[held_person, *others], expiries=expiries)
        # when the first revocation reaches Atlas and is kept waiting there for 8 s
        door.wait_arrival(30)
        wait(lambda: now() > start + timedelta(seconds=8), timeout=30, what="the held call's 8 s")
        door.release()
        # then the six others were each revoked within ON_TIME of expiring, while it waited
        grants = {g.id: g for g in world.all_grants()}
        late = {s.username: (grants[s.grant_id].revoked_at - s.expires_at).total_seconds()  # type: ignore[operator]
                for s in seeded[1:] if grants[s.grant_id].revoked_at is not None}
        assert len(late) == 6 and max(late.values()) <= ON_TIME, late
        # and the held one finishes once Atlas answers
        held = seeded[0].grant_id
        wait(lambda: next(g for g in world.all_grants() if g.id == held).status is G.REVOKED, what="the held one")
        world.assert_atlas_matches_database()
    finally:
        world.close()

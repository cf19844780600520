"""Several replicas: two `atlas-access serve` processes on one PostgreSQL database, as behind a load balancer.

They share nothing but the database: each sweeps on its own timers and claims due grants with
`FOR UPDATE SKIP LOCKED` and a lease; Slack's requests may reach either. The Atlas sandbox counts the calls.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from access.model import GrantStatus, RequestStatus
from tests.e2e.harness import ANN, BOB, CAT, DAN, EMAILS, EVE, READ
from tests.process.expiring import evenly, removals_by_user, seed_grants, seed_people
from tests.process.world import ProcessWorld, ServeProcess, now, wait

G = GrantStatus
pytestmark = pytest.mark.postgres


@pytest.fixture
def replicas(tmp_path: Path, postgres_url: str) -> Iterator[ProcessWorld]:
    world = ProcessWorld(tmp_path, database_url=postgres_url, sweep_seconds=0.5, lease_seconds=3.0)
    try:
        first = world.spawn("a", ready=False)
        second = world.spawn("b", ready=False)  # both start at once: migrations and start-up race too
        first.wait_ready()
        second.wait_ready()
        yield world
    finally:
        world.close()


def adds_for(world: ProcessWorld, username: str) -> int:
    """Role grants Atlas carried out for `username` (a new member or a new role alike)."""
    user_id = world.sb.user_id(username)
    return sum(1 for c in world.sb.calls if c.operation_id in ("addGroupUsers", "addGroupUserRole")
               and 200 <= c.status < 300 and ((c.body or {}).get("username") == username or f"/{user_id}:" in c.path))


def test_two_approvers_clicking_on_two_replicas_at_once_make_one_grant(replicas: ProcessWorld) -> None:
    world = replicas
    a, b = world.processes
    for requester in (ANN, EVE, DAN):
        # given a pending request on payments, which bob and cat may both approve
        request_id = world.ask(a if requester != EVE else b, requester, "payments", [READ])
        world.posted(request_id)
        # when bob clicks Approve on one replica and cat on the other, at the same moment
        start = threading.Barrier(2)
        answers: dict[str, int] = {}

        def click(user: str, app: ServeProcess, request_id: int = request_id, start: threading.Barrier = start
                  ) -> None:
            start.wait()
            answers[user] = world.click(app, user, "approve", request_id).status_code

        clickers = [threading.Thread(target=click, args=(BOB, a)), threading.Thread(target=click, args=(CAT, b))]
        for clicker in clickers:
            clicker.start()
        for clicker in clickers:
            clicker.join(30)
        assert answers == {BOB: 200, CAT: 200}
        # then one approval wins, the other is refused, and one grant is made in Atlas, once
        grant = world.wait_grant(request_id, G.ACTIVE)
        request = world.request(request_id)
        assert request.status is RequestStatus.APPROVED and request.decided_by in (BOB, CAT)
        assert len(request.approvals) == 1
        wait(lambda: "refused" in world.audit_actions(request_id), what="the second click refused")
        final = Counter(world.audit_actions(request_id))
        assert final["approved"] == 1 and final["refused"] == 1 and final["granted"] == 1
        assert adds_for(world, EMAILS[requester]) == 1
        assert grant.roles == (READ,)
    world.assert_atlas_matches_database()


@pytest.mark.slow
def test_two_replicas_revoke_a_thousand_grants_expiring_within_ten_seconds_each_exactly_once(
    replicas: ProcessWorld,
) -> None:
    world = replicas
    count = 1000
    group_id = world.projects["payments"]
    people = seed_people(sandbox=world.sb, sim=world.sim, org_id=world.org_id, group_id=group_id, count=count)
    # given 1,000 ACTIVE grants expiring over the next 10 seconds, both replicas running
    seeded = seed_grants(store=world.runtime.store, org_id=world.org_id, group_id=group_id, people=people,
                         expiries=evenly(now() + timedelta(seconds=1), timedelta(seconds=9), count))
    # when they fall due, then every one is revoked
    done = wait(lambda: (lambda grants: grants if all(g.status is G.REVOKED for g in grants) else None)(
        world.all_grants()), timeout=180, what="every grant revoked", interval=0.5)
    assert len(done) == count
    # exactly once each: one removal call per person reached Atlas, none twice
    removals = removals_by_user(world.sb)
    assert sorted(removals.values()) == [1] * count, Counter(removals.values())
    assert set(removals) == {s.atlas_user_id for s in seeded}
    # and Atlas holds each person's baseline again
    for person in seeded:
        assert world.sb.project_roles(group_id, person.username) == set(person.baseline)
    # both replicas took part (the claims are disjoint, not one replica doing everything)
    logs = {p.name: p.log_path.read_text(encoding="utf-8") for p in world.processes}
    assert all("sweep worked" in text for text in logs.values()), world.logs()

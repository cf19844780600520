"""The database unreachable at start-up and for a few seconds mid-run, with real `atlas-access serve` processes.

The children reach PostgreSQL through a door the test shuts and opens (see pgdoor.py): shut, every connection
drops at once and new ones are closed as they arrive, as in a restart or a failover. The test's own runtime
(seeding, reading the database) goes straight to PostgreSQL and never notices.

Each fault ends with a clear message to the right person (the operator: a log line and /healthz; the person
acting in Slack: a note in Slack) and the work done once the fault clears. Bounds carry SLACK seconds: the
children share a busy 2-core machine with the test.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from access.model import GrantStatus, RequestStatus
from bot.slack import messages as words
from tests.e2e.harness import ANN, BOB, CHANNEL, DATA_READ, JUSTIFICATION, READ, SIGNING_SECRET, TOKEN
from tests.process.expiring import removals_by_user, seed_grants, seed_people
from tests.process.pgdoor import PgDoor
from tests.process.world import ProcessWorld, ServeProcess, approved_and_active, now, wait

pytestmark = pytest.mark.postgres
G = GrantStatus
SLACK = 5.0
ACK_SECONDS = 3.0  # Slack's deadline for an answer
UNREACHABLE = "database not reachable"  # bot/serve.py wait_for_database


@pytest.fixture
def door() -> Iterator[PgDoor]:
    opened = PgDoor().start()
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def world(tmp_path: Path, postgres_url: str, door: PgDoor) -> Iterator[ProcessWorld]:
    built = ProcessWorld(tmp_path, database_url=postgres_url)
    try:
        yield built
    finally:
        built.close()  # before the door closes (fixtures end in reverse order)


def spawn_behind(world: ProcessWorld, door: PgDoor, *, ready: bool = True) -> ServeProcess:
    """A `serve` child whose DATABASE_URL goes through the door."""
    return world.spawn(ready=ready, env={"DATABASE_URL": door.url_for(world.database_url)})


def healthz(app: ServeProcess) -> httpx.Response:
    return httpx.get(app.url + "/healthz", timeout=10.0)


def timed(call: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    answer = call()
    return answer, time.monotonic() - started


def log_of(app: ServeProcess) -> str:
    return app.log_path.read_text(encoding="utf-8", errors="replace")


def assert_no_secret(world: ProcessWorld, text: str) -> None:
    for name, secret in (("the bot token", TOKEN), ("the signing secret", SIGNING_SECRET),
                         ("the secret key", world.key)):
        assert secret not in text, f"{name} is in the log"


def told_access_ended(world: ProcessWorld, user: str, request_id: int) -> str:
    """The DM telling `user` the access of `request_id` has ended (it comes after the revocation is stored)."""
    ended = f"Your access from request #{request_id} "
    found = world.sim.wait_for(lambda sim: [m["text"] for m in sim.dms(user) if m["text"].startswith(ended)],
                               timeout=20)
    assert len(found) == 1, found
    return str(found[0])


# --- a. at start-up ---------------------------------------------------------------------------------------------


def test_a_process_started_while_the_database_is_unreachable_waits_for_it_then_works_what_fell_due(
    world: ProcessWorld, door: PgDoor,
) -> None:
    # given a grant that falls due in a moment, and the database unreachable when `serve` starts
    group_id = world.projects["payments"]
    people = seed_people(sandbox=world.sb, sim=world.sim, org_id=world.org_id, group_id=group_id, count=1, offset=1)
    (seeded,) = seed_grants(store=world.runtime.store, org_id=world.org_id, group_id=group_id, people=people,
                            expiries=[now() + timedelta(seconds=2)])
    door.shut()
    app = spawn_behind(world, door, ready=False)
    # when it has tried twice, the grant has fallen due, and the database comes back
    wait(lambda: "attempt 2 of" in log_of(app) or not app.alive, timeout=120, what="a second attempt")
    assert app.alive, app.log_tail()
    wait(lambda: now() > seeded.expires_at, what="the expiry")
    assert door.refused >= 2
    assert world.all_grants()[0].status is G.ACTIVE
    door.open()
    opened_at = now()
    # then it did not exit: it said clearly what was wrong, retried, and starts once the database answers
    app.wait_ready()
    log = log_of(app)
    assert f"{UNREACHABLE} (attempt 1 of" in log and "retrying" in log
    assert_no_secret(world, log)
    # and its start-up sweep revoked the grant that fell due meanwhile, once
    revoked = next(g for g in world.all_grants() if g.id == seeded.grant_id)
    assert revoked.status is G.REVOKED and revoked.revoked_at is not None
    assert app.ready_at is not None and opened_at <= revoked.revoked_at <= app.ready_at
    assert "start-up sweep worked 1 grants" in log
    assert world.sb.project_roles(group_id, seeded.username) == set(seeded.baseline)
    assert removals_by_user(world.sb)[seeded.atlas_user_id] == 1
    world.assert_atlas_matches_database()
    # and its holder is told, once, that the access has ended
    assert "has ended" in told_access_ended(world, people[0][0], revoked.request_id)


# --- b. mid-run, the sweep ----------------------------------------------------------------------------------


def test_a_grant_that_expires_while_the_database_is_unreachable_is_revoked_once_when_it_is_back(
    world: ProcessWorld, door: PgDoor,
) -> None:
    app = spawn_behind(world, door)
    request_id = approved_and_active(world, app)
    grant = world.grant(request_id)
    assert grant is not None
    # given the grant expires in a moment, and the database becomes unreachable just before that
    door.shut()
    assert door.dropped >= 1  # the process held pooled connections: they drop mid-run
    expires_at = world.expire_soon(grant, seconds=1.5)  # the test's own runtime goes straight to the database
    # then while it is unreachable /healthz says so (a 503, so a load balancer or supervisor can see it)
    answer = wait(lambda: (lambda r: r if r.status_code == 503 else None)(healthz(app)), timeout=20,
                  what="a 503 from /healthz")
    assert answer.json() == {"ok": False, "error": "database_unreachable"}
    wait(lambda: "health check failed" in log_of(app), what="the health check's warning")
    # when the outage lasts past the expiry (about 4 s in all), nothing can be done, and the process lives on
    wait(lambda: now() > expires_at + timedelta(seconds=2.5), what="the outage")
    assert app.alive
    assert world.grant(request_id).status is G.ACTIVE  # type: ignore[union-attr]
    assert world.roles("payments", ANN) == {READ, DATA_READ}
    assert "sweep failed; the next one will try again (the database is unreachable: " in log_of(app)
    door.open()
    opened_at = now()
    # then the grant is revoked within a lease and a sweep of the database's return, exactly once
    bound = timedelta(seconds=world.lease_seconds + world.sweep_seconds + SLACK)
    revoked = world.wait_grant(request_id, G.REVOKED, timeout=bound.total_seconds() + 10)
    assert revoked.revoked_at is not None and revoked.revoked_at - opened_at <= bound
    assert world.roles("payments", ANN) == {DATA_READ}
    assert world.succeeded("removeGroupUserRole") == 1
    assert sum(removals_by_user(world.sb).values()) == 1
    assert world.audit_actions(request_id).count("revoked") == 1
    world.assert_atlas_matches_database()
    # and ann is told, once, that her access has ended; the process is healthy again
    assert "Removed: " in told_access_ended(world, ANN, request_id)
    assert healthz(app).status_code == 200
    assert_no_secret(world, log_of(app))


# --- c. mid-run, a person acts --------------------------------------------------------------------------------


def test_a_request_submitted_while_the_database_is_unreachable_is_refused_politely_then_goes_through(
    world: ProcessWorld, door: PgDoor,
) -> None:
    app = spawn_behind(world, door)
    slack = world.driver(app)
    # given ann has the request form for payments open, filled in
    assert slack.command(ANN).status_code == 200
    view = wait(lambda: world.sim.last_view(user_id=ANN, callback_id="access_request"), what="the request modal")
    options = slack.block_suggestion(ANN, "resource", "payments", view).json()["options"]
    option = next(o for o in options if " payments ·" in o["text"]["text"])
    assert slack.block_action(ANN, "resource", option, view=view).status_code == 200
    form = wait(lambda: (lambda v: v if v and v["hash"] != view["hash"] else None)(world.sim.views.get(view["id"])),
                what="the form for payments")
    values = {"roles": [READ], "duration": "1h", "duration_custom": None, "justification": JUSTIFICATION}
    # when the database becomes unreachable and she submits it
    door.shut()
    answer, took = timed(lambda: slack.submit(ANN, form, values))
    # then Slack gets its answer in time, and the form shows her, politely, to try again; nothing is stored
    assert answer.status_code == 200 and took < ACK_SECONDS, (answer.status_code, took, answer.text)
    assert answer.json() == {"response_action": "errors", "errors": {"resource": words.TRY_AGAIN}}
    assert world.newest_request_id(ANN) is None
    # and a new `/atlas-access` still opens the modal in time (it needs no database to open), and its picker
    # is answered in time, never with a 500 (it finds nothing: the inventory is in the database)
    opened = len(world.sim.calls_to("views.open"))
    answer, took = timed(lambda: slack.command(ANN))
    assert answer.status_code == 200 and took < ACK_SECONDS
    wait(lambda: len(world.sim.calls_to("views.open")) > opened, what="the request modal during the outage")
    fresh = world.sim.last_view(user_id=ANN, callback_id="access_request")
    answer, took = timed(lambda: slack.block_suggestion(ANN, "resource", "pay", fresh))
    assert answer.status_code == 200 and took < ACK_SECONDS
    # and the picker's one option says what happened, as does the modal if she picks it anyway
    [unavailable] = answer.json()["options"]
    assert "try again" in unavailable["text"]["text"]
    updated = len(world.sim.calls_to("views.update"))
    assert slack.block_action(ANN, "resource", unavailable, view=fresh).status_code == 200
    wait(lambda: len(world.sim.calls_to("views.update")) > updated, what="the modal's notice")
    assert words.TRY_AGAIN in json.dumps(world.sim.calls_to("views.update")[-1].args)
    # when the database is back and she submits the same form again
    door.open()
    answer = slack.submit(ANN, form, values)
    # then it goes through as if nothing had happened
    assert answer.status_code == 200 and not answer.content, answer.text
    request_id = wait(lambda: world.newest_request_id(ANN), what="the stored request")
    request = world.posted(request_id)
    assert request.status is RequestStatus.PENDING and request.channel == CHANNEL
    assert app.alive
    assert_no_secret(world, log_of(app))


def test_an_approval_clicked_while_the_database_is_unreachable_is_answered_then_works_when_it_is_back(
    world: ProcessWorld, door: PgDoor,
) -> None:
    app = spawn_behind(world, door)
    request_id = world.ask(app, ANN, "payments", [READ])
    world.posted(request_id)
    notes = lambda: (world.sim.ephemerals(user=BOB), world.sim.dms(BOB))  # noqa: E731
    seen_calls, (seen_ephemerals, seen_dms) = len(world.sim.calls), map(len, notes())
    # when bob clicks Approve while the database is unreachable
    door.shut()
    answer, took = timed(lambda: world.click(app, BOB, "approve", request_id))
    # then Slack gets its ack in time (never a 500), and bob is told his click did not count, to try again
    assert answer.status_code == 200 and took < ACK_SECONDS, (answer.status_code, took, answer.text)
    wait(lambda: list(map(len, notes())) != [seen_ephemerals, seen_dms], what="a word to bob")
    ephemerals, dms = notes()
    told = [*ephemerals[seen_ephemerals:], *dms[seen_dms:]]
    assert any("try again" in str(note.get("text", "")).lower() for note in told), (
        told, [c.method for c in world.sim.calls[seen_calls:]])
    assert world.request(request_id).status is RequestStatus.PENDING
    # when the database is back, the same click works
    door.open()
    assert world.click(app, BOB, "approve", request_id).status_code == 200
    world.wait_grant(request_id, G.ACTIVE)
    assert world.request(request_id).status is RequestStatus.APPROVED
    assert world.succeeded("addGroupUserRole") == 1
    world.assert_atlas_matches_database()
    assert_no_secret(world, log_of(app))

"""A database that answers but refuses writes, at start-up and mid-run, with real `atlas-access serve` processes.

PostgreSQL is made read-only as a failover or an operator would (`default_transaction_read_only`, sessions cut);
turned back, the sessions opened meanwhile stay read-only: nobody cuts them, the product must notice by itself.
SQLite is made read-only by its file (see readonly.py).

The operator hears one sentence at start-up (no traceback, no SQL), `/healthz` says 503 while writes are refused,
and everything works again, without a restart, once they are accepted: health, people's clicks, and a grant whose
save failed mid-way.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from access.model import GrantStatus, RequestStatus
from storage.testing import sqlite_url
from tests.e2e.harness import ANN, BOB, DATA_READ, READ
from tests.process.readonly import postgres_read_only, read_only_sqlite, sqlite_file
from tests.process.world import ProcessWorld, ServeProcess, wait

G = GrantStatus
READ_ONLY_BODY = {"ok": False, "error": "database_read_only"}
NOTICE_SECONDS = 10.0  # /healthz notices within a few seconds; slack for a busy 2-core machine
EXIT_SECONDS = 90.0


# --- the world ----------------------------------------------------------------------------------------------


@pytest.fixture
def sqlite_world(tmp_path: Path) -> Iterator[ProcessWorld]:
    built = ProcessWorld(tmp_path, database_url=sqlite_url(tmp_path, "process.db"))
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def postgres_world(tmp_path: Path, postgres_url: str) -> Iterator[ProcessWorld]:
    built = ProcessWorld(tmp_path, database_url=postgres_url)
    try:
        yield built
    finally:
        built.close()


def healthz(app: ServeProcess) -> httpx.Response:
    return httpx.get(app.url + "/healthz", timeout=10.0)


def health_becomes(app: ServeProcess, status: int, *, timeout: float = NOTICE_SECONDS) -> httpx.Response:
    return wait(lambda: (lambda r: r if r.status_code == status else None)(healthz(app)), timeout=timeout,
                what=f"/healthz answering {status}", interval=0.2)


def exited(app: ServeProcess) -> str:
    """The whole log of a child that exited on its own, which the test expects it to."""
    wait(lambda: not app.alive, timeout=EXIT_SECONDS, what=f"{app} exiting", interval=0.2)
    return app.log_path.read_text(encoding="utf-8", errors="replace")


def assert_told_in_one_sentence(log: str, app: ServeProcess) -> None:
    assert not app.alive and app.returncode not in (0, None), (app.returncode, log)
    errors = [line for line in log.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, log
    assert "read-only" in errors[0], errors[0]
    for leak in ("Traceback", "SELECT", "INSERT", "UPDATE", "sqlalchemy", "psycopg."):
        assert leak not in log, f"{leak!r} in the log:\n{log}"


# --- a. at start-up --------------------------------------------------------------------------------------------


@pytest.mark.postgres
def test_serve_refuses_to_start_on_a_read_only_postgresql_in_one_sentence(postgres_world: ProcessWorld) -> None:
    # given the database answers but refuses writes
    postgres_read_only(postgres_world.database_url, True)
    # when serve starts, then it exits non-zero with one sentence that says so: no traceback, no SQL
    app = postgres_world.spawn(ready=False)
    assert_told_in_one_sentence(exited(app), app)


def test_serve_refuses_to_start_on_a_read_only_sqlite_file_in_one_sentence(sqlite_world: ProcessWorld) -> None:
    sqlite_world.runtime.store.dispose()  # the test's own connections are not the product's
    with read_only_sqlite(sqlite_file(sqlite_world.database_url)):
        app = sqlite_world.spawn(ready=False)
        assert_told_in_one_sentence(exited(app), app)


# --- b. mid-run --------------------------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.slow
def test_a_read_only_postgresql_mid_run_fails_health_and_everything_resumes_when_it_is_writable_again(
    postgres_world: ProcessWorld,
) -> None:
    world = postgres_world
    app = world.spawn()
    request_id = world.ask(app, ANN, "payments", [READ])
    world.posted(request_id)
    # given bob's approval is stored and the grant's call to Atlas is on its way
    door = world.sb.hold("addGroupUserRole")
    assert world.click(app, BOB, "approve", request_id).status_code == 200
    door.wait_arrival(30)
    # when the database turns read-only (a failover: sessions cut, new ones read-only), then Atlas answers
    postgres_read_only(world.database_url, True)
    # then /healthz says so within seconds: 503, and why
    assert health_becomes(app, 503).json() == READ_ONLY_BODY
    door.release()
    # and the grant, added in Atlas, cannot be saved: it waits, the process lives on, health stays failed
    wait(lambda: world.succeeded("addGroupUserRole") == 1, what="Atlas adding the role")
    assert world.grant(request_id).status is G.GRANTING  # type: ignore[union-attr]
    assert app.alive and healthz(app).status_code == 503
    # when the database takes writes again (its sessions opened meanwhile are left as they are)
    postgres_read_only(world.database_url, False)
    # then health recovers by itself, and the grant is finished without a restart, its role added once
    assert health_becomes(app, 200).json()["ok"] is True
    world.wait_grant(request_id, G.ACTIVE, timeout=world.lease_seconds + 20)
    assert world.roles("payments", ANN) == {READ, DATA_READ}
    assert world.succeeded("addGroupUserRole") == 1
    assert world.audit_actions(request_id).count("granted") == 1
    world.assert_atlas_matches_database()
    # and people's writes go through again: a new request is stored
    assert world.request(request_id).status is RequestStatus.APPROVED
    assert world.ask(app, ANN, "search", [READ]) > request_id
    assert app.alive


def test_a_sqlite_file_that_turns_read_only_mid_run_fails_health_until_it_is_writable_again(
    sqlite_world: ProcessWorld,
) -> None:
    world = sqlite_world
    app = world.spawn()
    assert healthz(app).json() == {"ok": True}
    with read_only_sqlite(sqlite_file(world.database_url)):
        # when the file cannot be written, then /healthz says so within seconds
        assert health_becomes(app, 503).json() == READ_ONLY_BODY
    # when it can again, then health recovers and people's writes go through, without a restart
    assert health_becomes(app, 200).json() == {"ok": True}
    assert world.ask(app, ANN, "payments", [READ])
    assert app.alive

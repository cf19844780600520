"""Engines and units of work: SQLite's pragmas and BEGIN IMMEDIATE, commit/rollback, nesting, ping."""

from __future__ import annotations

import dataclasses
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.pool import NullPool

from access.model import RequestStatus
from storage import engine as engines
from storage.crypto import SecretBox
from storage.engine import make_engine, normalize_url
from storage.migrations import create_all
from storage.store import NestedUnitOfWork, SqlStore
from storage.testing import sqlite_url
from tests.storage import builders as b


@pytest.fixture
def sqlite_store(tmp_path: Path) -> SqlStore:
    engine = make_engine(sqlite_url(tmp_path))
    create_all(engine)
    return SqlStore(engine, SecretBox(None))


def test_postgres_urls_use_psycopg_3() -> None:
    assert normalize_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    engine = make_engine("postgresql://u:pw@127.0.0.1:1/db")  # nothing connects until used
    assert engine.dialect.driver == "psycopg"
    engine.dispose()


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(url: str, pid: int) -> None:
    killer = make_engine(url, poolclass=NullPool)
    with killer.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        connection.commit()
    killer.dispose()
    time.sleep(0.2)  # the server closes the socket


def test_a_pooled_connection_that_sat_idle_is_pinged_and_replaced_when_the_server_dropped_it(
        postgres_url: str) -> None:
    # given one pooled connection, idle long enough to be pinged, that the server has since dropped
    engine = make_engine(postgres_url, pool_size=1, max_overflow=0, idle_ping_seconds=0.1)
    first = _backend_pid(engine)
    _terminate(postgres_url, first)
    time.sleep(0.1)
    # when it is next used, the ping finds it dead and the work runs on a fresh connection, unaware
    assert _backend_pid(engine) != first
    engine.dispose()


def test_a_connection_used_a_moment_ago_whose_session_the_server_ended_is_replaced_without_a_ping(
        postgres_url: str) -> None:
    # given a pooled connection used a moment ago (not pinged: a round trip per unit of work saved), whose
    # session the server has since ended (a failover, a restart, an admin)
    engine = make_engine(postgres_url, pool_size=1, max_overflow=0, idle_ping_seconds=60)
    first = _backend_pid(engine)
    _terminate(postgres_url, first)
    # then the checkout sees the closed socket and the work runs on a fresh connection, unaware
    assert _backend_pid(engine) != first
    engine.dispose()


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that takes TCP connections and never says a word, as a database behind a dropping firewall."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield int(listener.getsockname()[1])


@pytest.mark.parametrize(("query", "default"), [
    ("", 1),  # the default bound (1 s here instead of 5, so the test is short)
    ("?connect_timeout=1", 300),  # the operator's own setting in the URL wins over the default
])
def test_a_postgres_database_that_never_answers_is_given_up_on_in_seconds(
    silent_server: int, monkeypatch: pytest.MonkeyPatch, query: str, default: int
) -> None:
    monkeypatch.setattr(engines, "CONNECT_TIMEOUT_SECONDS", default)
    store = SqlStore(make_engine(f"postgresql://nobody@127.0.0.1:{silent_server}/none{query}"), SecretBox(None))
    began = time.monotonic()
    assert store.ping() is False
    assert time.monotonic() - began < 10
    store.dispose()


def test_sqlite_runs_with_wal_a_busy_timeout_and_foreign_keys(sqlite_store: SqlStore) -> None:
    with sqlite_store.engine.connect() as connection:
        pragmas = {name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                   for name in ("journal_mode", "busy_timeout", "foreign_keys")}
    assert pragmas == {"journal_mode": "wal", "busy_timeout": 30000, "foreign_keys": 1}


def test_a_sqlite_unit_of_work_holds_the_write_lock_from_its_first_read(sqlite_store: SqlStore) -> None:
    # given a unit of work that has only read so far
    path = sqlite_store.engine.url.database or ""
    with sqlite_store.unit_of_work() as uow:
        assert uow.requests.get(1) is None
        # when another connection tries to start writing, without waiting
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        # then it cannot: the unit of work began with BEGIN IMMEDIATE
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
    other.execute("BEGIN IMMEDIATE")  # and can once the unit of work has ended
    other.execute("ROLLBACK")
    other.close()


def test_concurrent_sqlite_writers_queue_instead_of_failing(tmp_path: Path) -> None:
    # given one stored request and four threads, each with its own engine (own connections)
    url = sqlite_url(tmp_path)
    setup = make_engine(url)
    create_all(setup)
    with SqlStore(setup, SecretBox(None)).unit_of_work() as uow:
        request = uow.requests.add(b.request())
    stores = [SqlStore(make_engine(url), SecretBox(None)) for _ in range(4)]
    errors: list[BaseException] = []
    start = threading.Barrier(len(stores))

    def bump(store: SqlStore) -> None:
        # read-modify-write: with a deferred BEGIN two of these would collide on the lock upgrade
        try:
            start.wait()
            for _ in range(25):
                with store.unit_of_work() as uow:
                    current = uow.requests.get(request.id or 0)
                    assert current is not None
                    uow.requests.save(dataclasses.replace(current, justification=current.justification + "."))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=bump, args=(s,)) for s in stores]
    # when they all write at once
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    # then none failed ("database is locked" or StaleWrite) and every write counted
    assert errors == []
    with stores[0].unit_of_work() as uow:
        final = uow.requests.get(request.id or 0)
    assert final is not None and final.version == 101 and final.justification.count(".") == 100
    for each in (*stores, SqlStore(setup, SecretBox(None))):
        each.dispose()


def test_in_memory_sqlite_is_one_database_for_every_unit_of_work() -> None:
    engine = make_engine("sqlite://")
    create_all(engine)
    store = SqlStore(engine, SecretBox(None))
    with store.unit_of_work() as uow:
        request = uow.requests.add(b.request())
    found: list[object] = []
    thread = threading.Thread(target=lambda: found.append(_get(store, request.id or 0)))
    thread.start()
    thread.join()
    assert found == [request]
    store.dispose()


def _get(store: SqlStore, request_id: int) -> object:
    with store.unit_of_work() as uow:
        return uow.requests.get(request_id)


def test_a_unit_of_work_commits_at_the_end_and_rolls_back_on_error(store: SqlStore) -> None:
    with pytest.raises(RuntimeError), store.unit_of_work() as uow:
        uow.requests.add(b.request())
        raise RuntimeError("boom")
    with store.unit_of_work() as uow:
        assert uow.requests.pending() == []
        kept = uow.requests.add(b.request())
    with store.unit_of_work() as uow:
        assert uow.requests.pending() == [kept]


def test_commit_inside_the_block_keeps_that_work_when_the_block_then_fails(store: SqlStore) -> None:
    # the service records a refusal, commits, then raises
    with pytest.raises(RuntimeError), store.unit_of_work() as uow:
        kept = uow.requests.add(b.request())
        uow.commit()
        uow.requests.save(dataclasses.replace(kept, status=RequestStatus.CANCELLED))
        raise RuntimeError("refused")
    with store.unit_of_work() as uow:
        assert uow.requests.get(kept.id or 0) == kept


def test_a_nested_unit_of_work_on_sqlite_fails_at_once_with_a_clear_error(sqlite_store: SqlStore) -> None:
    with sqlite_store.unit_of_work() as outer:
        outer.requests.pending()
        with pytest.raises(NestedUnitOfWork, match="inside another"), sqlite_store.unit_of_work():
            pass
    with sqlite_store.unit_of_work() as again:  # and the store is usable afterwards
        assert again.requests.pending() == []


@pytest.mark.postgres
def test_a_nested_unit_of_work_on_postgres_is_a_separate_transaction(postgres_url: str) -> None:
    from storage.testing import truncate_all

    store = SqlStore(make_engine(postgres_url), SecretBox(None))
    truncate_all(store.engine)
    with pytest.raises(RuntimeError), store.unit_of_work() as outer:
        outer.requests.add(b.request(requester_id="U0OUTER"))
        with store.unit_of_work() as inner:
            inner.requests.add(b.request(requester_id="U0INNER"))
        raise RuntimeError("outer fails")
    with store.unit_of_work() as uow:
        assert [r.requester_id for r in uow.requests.pending()] == ["U0INNER"]
    store.dispose()


def test_ping_says_whether_the_database_answers(store: SqlStore, tmp_path: Path) -> None:
    assert store.ping() is True
    gone = SqlStore(make_engine(f"sqlite:///{tmp_path}/missing/dir/x.db"), SecretBox(None))
    assert gone.ping() is False
    unreachable = SqlStore(make_engine("postgresql://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 1}),
                           SecretBox(None))
    assert unreachable.ping() is False


def test_the_store_repr_shows_no_password() -> None:
    store = SqlStore(make_engine("postgresql://app:hunter2@db.example/atlas"), SecretBox(SecretBox.generate_key()))
    assert "hunter2" not in repr(store) and "hunter2" not in repr(store.engine)
    assert "key=<set>" in repr(SecretBox(SecretBox.generate_key()))


def test_sqlite_stores_naive_utc_text_so_comparisons_follow_time(engine: Engine, store: SqlStore) -> None:
    with store.unit_of_work() as uow:
        uow.requests.add(b.request())
    with engine.connect() as connection:
        raw = connection.execute(text("SELECT created_at FROM access_request")).scalar()
    if engine.dialect.name == "sqlite":
        assert raw == "2026-01-05 09:00:00.000000"
    else:
        assert raw == b.T0

"""A database that answers but refuses writes: health says so, and connections recover by themselves after.

Real databases made read-only as in production (tests/process/readonly.py): a PostgreSQL whose sessions turn
read-only (a failover, `default_transaction_read_only`), a SQLite file the process may not open for writing.
The store is never disposed or rebuilt in between: recovering is its own business.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from sqlalchemy.exc import DBAPIError

from access.entities import AuditEvent
from storage.crypto import SecretBox
from storage.engine import is_read_only_error, make_engine
from storage.migrations import create_all, upgrade
from storage.store import DatabaseHealth, SqlStore
from storage.testing import fresh_postgres_url, sqlite_url
from tests.process.readonly import read_only_postgres, read_only_sqlite, sqlite_file
from tests.storage.builders import T0
from tests.storage.conftest import require_postgres

ReadOnly = Callable[[], AbstractContextManager[None]]
SECRET_LOOKING = "ann-private-justification-7f3a"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, ReadOnly]]:
    """A migrated database of each kind, and how to make it read-only for a while."""
    if request.param == "sqlite":
        url = sqlite_url(tmp_path)
        engine = make_engine(url)
        create_all(engine)
        engine.dispose()
        yield url, lambda: read_only_sqlite(sqlite_file(url))
        return
    require_postgres()
    with fresh_postgres_url("atlas_access_read_only") as url:
        upgrade(url)
        yield url, lambda: read_only_postgres(url)


def store_for(url: str) -> SqlStore:
    return SqlStore(make_engine(url), SecretBox(None))


def write(store: SqlStore, detail: str = "") -> None:
    with store.unit_of_work() as uow:
        uow.audit.add(AuditEvent(at=T0, actor="U1", action="requested", detail={"note": detail}))


def test_health_says_the_database_refuses_writes_and_recovers_without_a_restart(
    database: tuple[str, ReadOnly],
) -> None:
    url, read_only = database
    store = store_for(url)
    assert store.health() is DatabaseHealth.OK
    with read_only():
        assert store.health() is DatabaseHealth.READ_ONLY
        assert store.health() is DatabaseHealth.READ_ONLY  # asked again, on whatever connection it gets
        assert store.ping() is True  # it still answers reads
    assert store.health() is DatabaseHealth.OK
    store.dispose()


def test_connections_opened_while_read_only_take_writes_again_once_the_database_does(
    database: tuple[str, ReadOnly],
) -> None:
    url, read_only = database
    with read_only():
        # given a process that starts, or reconnects, while the database refuses writes
        store = store_for(url)
        with pytest.raises(DBAPIError) as refused:
            write(store, SECRET_LOOKING)
        assert is_read_only_error(refused.value)
        # and what it tried to write is not in the error's text (it reaches logs)
        assert SECRET_LOOKING not in str(refused.value)
    # when the database takes writes again, then the same store writes, again and again, with no restart
    for _ in range(3):
        write(store)
    assert store.health() is DatabaseHealth.OK
    store.dispose()


def test_an_unreachable_database_is_told_apart_from_a_read_only_one() -> None:
    store = store_for("postgresql://nobody@127.0.0.1:1/none")
    assert store.health() is DatabaseHealth.UNREACHABLE
    store.dispose()

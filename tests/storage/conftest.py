"""Storage fixtures: every `store`/`engine` test runs on SQLite (a temp file) and on the real PostgreSQL.

PostgreSQL gets one fresh database per test session (created, migrated with `upgrade`, dropped at the
end) and is emptied before each test. When it is unreachable its tests are skipped, unless CI=true,
where that is a failure. Other test packages can build the same databases with `storage.testing`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from storage.crypto import SecretBox
from storage.engine import make_engine
from storage.migrations import create_all, upgrade
from storage.store import SqlStore
from storage.testing import fresh_postgres_url, sqlite_url, truncate_all
from storage.testing import require_postgres as shared_require_postgres
from tests.storage.builders import Clock

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def require_postgres() -> None:
    shared_require_postgres("the storage tests")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    require_postgres()
    with fresh_postgres_url() as url:
        upgrade(url)
        yield url


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: os.PathLike[str]) -> str:
    """A migrated, empty database of each kind."""
    if request.param == "sqlite":
        url = sqlite_url(tmp_path)  # type: ignore[arg-type]
        engine = make_engine(url)
        create_all(engine)
        engine.dispose()
        return url
    url = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    truncate_all(engine)
    engine.dispose()
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    made = make_engine(db_url)
    yield made
    made.dispose()


@pytest.fixture
def secret_key() -> str:
    return SecretBox.generate_key()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(engine: Engine, secret_key: str, clock: Clock) -> SqlStore:
    return SqlStore(engine, SecretBox(secret_key), clock=clock)

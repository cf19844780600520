"""Fixtures for the real-process tests: a database of each kind, and a world of fakes around `serve` children.

PostgreSQL gets a fresh database per test (created, dropped after), since the children migrate it
themselves. When the server is unreachable its tests are skipped, unless CI=true, where that is a failure.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.testing import fresh_postgres_url, sqlite_url
from storage.testing import require_postgres as shared_require_postgres
from tests.process.world import ProcessWorld

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here starts real processes and takes seconds: `slow` (`-m "not slow"` leaves them out)."""
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.slow)


def require_postgres() -> None:
    shared_require_postgres("the replica tests")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    require_postgres()
    with fresh_postgres_url("atlas_access_process") as url:
        yield url


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_url(tmp_path, "process.db")
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def world(tmp_path: Path, database_url: str) -> Iterator[ProcessWorld]:
    built = ProcessWorld(tmp_path, database_url=database_url)
    try:
        yield built
    finally:
        built.close()

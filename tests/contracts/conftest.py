"""The contract suites' backends: each port's fake and its real adapter(s), behind one fixture per port.

A contract test takes `store_world`, `atlas_world`, `directory_world` or `notifier_world` and runs once per
implementation (`[fake]`, `[sqlite]`, `[postgres]`, `[real]`). PostgreSQL gets one fresh migrated database per
session, emptied before each test; when it is unreachable its cases are skipped (failed under CI=true).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from storage.crypto import SecretBox
from storage.engine import make_engine
from storage.migrations import create_all, upgrade
from storage.testing import fresh_postgres_url, require_postgres, sqlite_url, truncate_all
from tests.contracts.worlds import (
    AtlasWorld,
    DirectoryWorld,
    FakeAtlasWorld,
    FakeDirectoryWorld,
    FakeNotifierWorld,
    NotifierWorld,
    SandboxAtlasWorld,
    SlackDirectoryWorld,
    SlackNotifierWorld,
    SqlStoreWorld,
    StoreWorld,
)

STORES = ["fake", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
REAL_OR_FAKE = ["fake", "real"]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    require_postgres("the store contract")
    with fresh_postgres_url("atlas_access_contract") as url:
        upgrade(url)
        yield url


def sql_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    """The empty database of a `[sqlite]` or `[postgres]` case (the caller disposes of it)."""
    if request.param == "sqlite":
        engine = make_engine(sqlite_url(tmp_path))
        create_all(engine)
    else:
        engine = make_engine(request.getfixturevalue("postgres_url"))
        truncate_all(engine)
    return engine


@pytest.fixture(params=STORES)
def store_world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreWorld]:
    if request.param == "fake":
        yield StoreWorld.fake()
        return
    engine = sql_engine(request, tmp_path)
    world = SqlStoreWorld(engine, SecretBox(SecretBox.generate_key()), kind=request.param)
    yield world
    engine.dispose()


@pytest.fixture(params=REAL_OR_FAKE)
def atlas_world(request: pytest.FixtureRequest) -> Iterator[AtlasWorld]:
    world: AtlasWorld = FakeAtlasWorld() if request.param == "fake" else SandboxAtlasWorld()
    yield world
    world.close()


@pytest.fixture(params=REAL_OR_FAKE)
def directory_world(request: pytest.FixtureRequest) -> Iterator[DirectoryWorld]:
    world: DirectoryWorld = FakeDirectoryWorld() if request.param == "fake" else SlackDirectoryWorld()
    yield world
    world.close()


@pytest.fixture(params=REAL_OR_FAKE)
def notifier_world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[NotifierWorld]:
    world: NotifierWorld = FakeNotifierWorld() if request.param == "fake" else SlackNotifierWorld(tmp_path)
    yield world
    world.close()


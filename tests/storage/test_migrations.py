"""Migrations: `upgrade` on an empty database builds exactly the models' schema, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlmodel import SQLModel

from storage.crypto import SecretBox
from storage.engine import make_engine
from storage.migrations import HERE, alembic_config, create_all, current_revision, schema_differences, upgrade
from storage.store import SqlStore
from storage.testing import fresh_postgres_url, sqlite_url
from tests.storage import builders as b
from tests.storage.conftest import require_postgres

MODEL_TABLES = {table.name for table in SQLModel.metadata.sorted_tables}
HEADS = ScriptDirectory.from_config(alembic_config()).get_heads()


@contextmanager
def empty_database(kind: str, tmp_path: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield sqlite_url(tmp_path, "migrated.db")
        return
    require_postgres()
    with fresh_postgres_url() as url:
        yield url


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_upgrade_on_an_empty_database_matches_the_models(kind: str, tmp_path: Path) -> None:
    with empty_database(kind, tmp_path) as url:
        # when the migrations run on an empty database (twice: the second is a no-op)
        upgrade(url)
        upgrade(url)
        engine = make_engine(url)
        try:
            # then it is at head, has every table, and autogenerate finds nothing to change
            assert current_revision(engine) == HEADS[0]
            assert set(inspect(engine).get_table_names()) == MODEL_TABLES | {"alembic_version"}
            assert schema_differences(engine) == []
            # and it works as a store
            store = SqlStore(engine, SecretBox(None))
            with store.unit_of_work() as uow:
                uow.requests.add(b.request())
        finally:
            engine.dispose()


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_downgrade_to_base_removes_every_table(kind: str, tmp_path: Path) -> None:
    with empty_database(kind, tmp_path) as url:
        upgrade(url)
        engine = make_engine(url)
        try:
            with engine.connect() as connection:
                command.downgrade(alembic_config(connection=connection), "base")
            assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        finally:
            engine.dispose()


def test_create_all_stamps_head_so_a_later_upgrade_does_nothing(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    engine = make_engine(url)
    create_all(engine)
    assert current_revision(engine) == HEADS[0]
    upgrade(url)  # would fail on "table already exists" if it tried to create them
    assert schema_differences(engine) == []
    engine.dispose()


def test_the_scripts_ship_inside_the_package() -> None:
    assert (HERE / "env.py").is_file() and (HERE / "script.py.mako").is_file()
    assert sorted(p.name for p in (HERE / "versions").glob("*.py"))[0] == "0001_initial.py"
    assert len(HEADS) == 1  # every migration chains to the one before it
    assert HERE.parent.name == "storage"


def test_schema_differences_notices_a_drifted_database(tmp_path: Path) -> None:
    engine = make_engine(sqlite_url(tmp_path))
    create_all(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP INDEX ix_audit_event_at")
    assert [d[0] for d in schema_differences(engine)] == ["add_index"]
    engine.dispose()

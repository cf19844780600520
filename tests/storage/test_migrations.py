"""Migrations: `upgrade` on an empty database builds exactly the models' schema, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, Table, func, inspect, select
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


# An integration as the 0003 schema stores it: no remove_unmanaged_roles column yet.
INTEGRATION_AT_0003 = {
    "name": "prod", "organization_id": b.ORG_ID, "credential_type": "api_key",
    "credential_public": {"public_key_env": "ATLAS_PUB", "private_key_env": "ATLAS_PRIV"},
    "credential_secret": None, "discovery": ["organizations", "projects"], "approval_channel": "C0APPROVALS",
    "integration_owners": ["@atlas-admins"], "extra_project_roles": [], "enabled": True,
    "created_at": b.T0, "updated_at": b.T0,
}


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_migration_0004_turns_remove_unmanaged_roles_off_for_existing_integrations(kind: str, tmp_path: Path
                                                                                  ) -> None:
    with empty_database(kind, tmp_path) as url:
        # given a database at 0003 holding an integration
        upgrade(url, "0003")
        engine = make_engine(url)
        try:
            with engine.begin() as connection:
                old = Table("integration", MetaData(), autoload_with=connection)
                connection.execute(old.insert().values(**INTEGRATION_AT_0003))

            # when it is upgraded to the head
            upgrade(url)

            # then the integration reads back with unmanaged roles only reported, and the schema is the models'
            store = SqlStore(engine, SecretBox(None))
            with store.unit_of_work() as uow:
                spec = uow.integrations.get("prod")
            assert spec is not None and spec.remove_unmanaged_roles is False
            assert spec.approval_channel == "C0APPROVALS" and spec.integration_owners == ["@atlas-admins"]
            assert schema_differences(engine) == []
            # and the setting can be turned on and read back
            with store.unit_of_work() as uow:
                uow.integrations.upsert(spec.model_copy(update={"remove_unmanaged_roles": True}))
            with store.unit_of_work() as uow:
                turned_on = uow.integrations.get("prod")
            assert turned_on is not None and turned_on.remove_unmanaged_roles is True

            # and going back to 0003 drops the column and keeps the integration
            with engine.connect() as connection:
                command.downgrade(alembic_config(connection=connection), "0003")
                connection.commit()
            assert "remove_unmanaged_roles" not in {c["name"] for c in inspect(engine).get_columns("integration")}
            with engine.connect() as connection:
                old = Table("integration", MetaData(), autoload_with=connection)
                assert connection.execute(select(func.count()).select_from(old)).scalar_one() == 1
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

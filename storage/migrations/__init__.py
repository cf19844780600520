"""Alembic migrations, run programmatically: `upgrade(url)` for real databases, `create_all(engine)` for quick use.

The migration scripts live in this package (found by path, so an installed copy works as well as a
checkout); their target is `SQLModel.metadata` as declared in `storage.tables`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Connection, Engine, text
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel

from storage import tables  # noqa: F401  (registers every table on SQLModel.metadata)
from storage.engine import make_engine

HERE = Path(__file__).resolve().parent
# Two replicas starting at once must not both create the tables: PostgreSQL serialises them on this
# advisory lock; SQLite on the BEGIN IMMEDIATE that opens alembic's transaction.
ADVISORY_LOCK = 0x61746C61  # "atla"


def alembic_config(*, connection: Connection | None = None, url: str | None = None) -> Config:
    """An Alembic Config for this package's scripts, using `connection` (or `url`) as the database."""
    config = Config()
    config.set_main_option("script_location", str(HERE).replace("%", "%%"))
    config.attributes["connection"] = connection
    config.attributes["url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """`alembic upgrade head` against `url`."""
    engine = make_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection, _migration_lock(connection):
            command.upgrade(alembic_config(connection=connection), revision)
    finally:
        engine.dispose()


def create_all(engine: Engine) -> None:
    """Create every table straight from the models and stamp the head revision (tests, in-memory use)."""
    SQLModel.metadata.create_all(engine)
    with engine.connect() as connection:
        command.stamp(alembic_config(connection=connection), "head")
        connection.commit()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def schema_differences(engine: Engine) -> list[Any]:
    """What Alembic autogenerate would change to make the database match the models (empty: they match)."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, SQLModel.metadata))


class _migration_lock:  # noqa: N801 - used as a context manager, like contextlib's
    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._postgres = connection.dialect.name == "postgresql"

    def __enter__(self) -> None:
        if self._postgres:
            self._connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_LOCK})
            self._connection.commit()  # the lock is the session's; alembic needs no transaction open

    def __exit__(self, *exc: object) -> None:
        if self._postgres:
            self._connection.rollback()
            self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK})
            self._connection.commit()

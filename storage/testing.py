"""Databases for tests, reusable by every test package: a SQLite file, or a fresh PostgreSQL database.

    with fresh_postgres_url() as url:        # CREATE DATABASE atlas_access_test_<random>; DROP ... at the end
        upgrade(url)
        store = SqlStore(make_engine(url), SecretBox(SecretBox.generate_key()))

The PostgreSQL server comes from ATLAS_ACCESS_TEST_POSTGRES (a URL of a database to connect to for
CREATE/DROP DATABASE), by default the local trust-auth `postgres` user at 127.0.0.1:5432.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest  # a module for tests only: nothing of the product imports it (an import-linter contract)
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel

from storage import tables  # noqa: F401  (registers every table on SQLModel.metadata)
from storage.engine import normalize_url

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def postgres_server_url() -> str:
    return normalize_url(os.environ.get("ATLAS_ACCESS_TEST_POSTGRES", DEFAULT_SERVER))


def sqlite_url(directory: Path, name: str = "atlas-access.db") -> str:
    return f"sqlite:///{Path(directory) / name}"


def postgres_available(timeout_seconds: int = 3) -> bool:
    """True when the test PostgreSQL server accepts a connection."""
    engine = _admin_engine(timeout_seconds)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
    finally:
        engine.dispose()


@contextmanager
def fresh_postgres_url(prefix: str = "atlas_access_test") -> Iterator[str]:
    """Create a uniquely named, empty database; yield its URL; drop it (closing leftover connections)."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine()
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(postgres_server_url()).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def truncate_all(engine: Engine) -> None:
    """Empty every table (PostgreSQL: TRUNCATE ... RESTART IDENTITY; SQLite: DELETE), keeping the schema."""
    names = [table.name for table in SQLModel.metadata.sorted_tables]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            quoted = ", ".join(f'"{name}"' for name in names)
            connection.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
        else:
            for name in reversed(names):
                connection.execute(text(f'DELETE FROM "{name}"'))  # noqa: S608 - names from our metadata


def _admin_engine(timeout_seconds: int = 10) -> Engine:
    return create_engine(
        postgres_server_url(), poolclass=NullPool, isolation_level="AUTOCOMMIT",
        connect_args={"connect_timeout": timeout_seconds},
    )


def require_postgres(purpose: str) -> None:
    """Skip the calling test when PostgreSQL is unreachable; fail it instead under CI=true (`purpose` says why)."""
    if postgres_available():
        return
    message = f"PostgreSQL at {make_url(postgres_server_url())!r} is not reachable"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI=true: {purpose} must run on PostgreSQL)")
    pytest.skip(message)

"""Making a real database refuse writes, and accept them again, as a failover or an operator would.

PostgreSQL: `ALTER DATABASE … SET default_transaction_read_only`. Turned on, the sessions open on the database
are cut (as a failover cuts them), and every new one is read-only; turned off, the sessions opened meanwhile are
left as they are: they stay read-only until whoever holds them opens new ones.

SQLite: the file. chmod where the tests do not run as root; root ignores the mode bits, so there the immutable
attribute (`chattr +i`), which root's opens honour too. Where neither works (no CAP_LINUX_IMMUTABLE, a file
system without attributes) the calling test is skipped: it says so rather than pass without a read-only file.
"""

from __future__ import annotations

import contextlib
import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from storage.testing import postgres_server_url


def postgres_read_only(url: str, on: bool) -> None:
    """default_transaction_read_only on (sessions cut) or off (sessions left) for the database of `url`."""
    name = make_url(url).database
    admin = create_engine(postgres_server_url(), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = '
                                    f'{"on" if on else "off"}'))
            if on:
                connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                        "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})
    finally:
        admin.dispose()


@contextlib.contextmanager
def read_only_postgres(url: str) -> Iterator[None]:
    postgres_read_only(url, True)
    try:
        yield
    finally:
        postgres_read_only(url, False)


def sqlite_file(url: str) -> Path:
    database = make_url(url).database
    assert database, url
    return Path(database)


def _sqlite_read_only(path: Path, on: bool) -> None:
    if os.geteuid() != 0:
        path.chmod(stat.S_IRUSR | stat.S_IRGRP if on else stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP)
        return
    done = subprocess.run(["chattr", "+i" if on else "-i", str(path)], capture_output=True, check=False)
    if on and done.returncode != 0:
        pytest.skip(f"cannot make {path.name} read-only for root here: {done.stderr.decode().strip()}")


@contextlib.contextmanager
def read_only_sqlite(path: Path) -> Iterator[None]:
    """The database file no process of ours may open for writing, root's included; writable again after."""
    _sqlite_read_only(path, True)
    try:
        if os.access(path, os.W_OK):
            pytest.skip("this machine lets the test process write the file all the same")
        yield
    finally:
        _sqlite_read_only(path, False)

"""Engines for the two supported databases: SQLite (WAL, BEGIN IMMEDIATE) and PostgreSQL (psycopg 3).

SQLite: every transaction starts with `BEGIN IMMEDIATE`, so a unit of work holds the write lock from its
first statement; two writers then queue on `busy_timeout` instead of one failing with "database is locked"
when it upgrades a read lock (WAL returns SQLITE_BUSY at once in that case, without waiting). This is the
SQLAlchemy recipe for pysqlite: turn off the driver's own BEGIN handling (`isolation_level = None`) and emit
ours from the `begin` event. A connection opened with the execution option `sqlite_begin="DEFERRED"` starts
a plain deferred transaction instead (read-only checks such as `SqlStore.ping`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.pool import StaticPool

BUSY_TIMEOUT_MS = 30_000
# Enough connections for Bolt's listener threads, the HTTP server's threads and the timers at once.
POOL_SIZE = 10
MAX_OVERFLOW = 20
CONNECT_TIMEOUT_SECONDS = 5


def normalize_url(url: str) -> str:
    """`postgresql://` and `postgres://` mean psycopg 3, the driver we ship."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def make_engine(url: str, **options: Any) -> Engine:
    """An engine for `url` (SQLite file, `sqlite://` in memory, or PostgreSQL); `options` go to create_engine."""
    url = normalize_url(url)
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url, **options)
    if backend == "postgresql":
        options.setdefault("pool_pre_ping", True)
        # A database that drops packets instead of refusing must not hang a Slack ack or /healthz for minutes.
        if "connect_timeout" not in make_url(url).query:  # the operator's own (in the URL) wins
            options["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_SECONDS, **options.get("connect_args", {})}
        if "poolclass" not in options:  # sizes only apply to the default QueuePool
            options.setdefault("pool_size", POOL_SIZE)
            options.setdefault("max_overflow", MAX_OVERFLOW)
            options.setdefault("pool_recycle", 1800)
        return create_engine(url, **options)
    return create_engine(url, **options)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _sqlite_engine(url: str, **options: Any) -> Engine:
    database = make_url(url).database
    in_memory = not database or database == ":memory:"
    connect_args = {"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000, **options.pop("connect_args", {})}
    if in_memory:
        # One connection shared by every thread, so each session sees the same in-memory database.
        options.setdefault("poolclass", StaticPool)
    elif "poolclass" not in options:
        options.setdefault("pool_size", POOL_SIZE)
        options.setdefault("max_overflow", MAX_OVERFLOW)
    engine = create_engine(url, connect_args=connect_args, **options)
    event.listen(engine, "connect", _on_sqlite_connect)
    event.listen(engine, "begin", _on_sqlite_begin)
    return engine


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # The driver must not emit BEGIN itself (it would be a deferred one, and it skips SELECTs).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _on_sqlite_begin(connection: Connection) -> None:
    mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
    connection.exec_driver_sql("BEGIN IMMEDIATE" if mode == "IMMEDIATE" else "BEGIN")

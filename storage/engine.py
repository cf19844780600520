"""Engines for the two supported databases: SQLite (WAL, BEGIN IMMEDIATE) and PostgreSQL (psycopg 3).

SQLite: every transaction starts with `BEGIN IMMEDIATE`, so a unit of work holds the write lock from its
first statement; two writers then queue on `busy_timeout` instead of one failing with "database is locked"
when it upgrades a read lock (WAL returns SQLITE_BUSY at once in that case, without waiting). This is the
SQLAlchemy recipe for pysqlite: turn off the driver's own BEGIN handling (`isolation_level = None`) and emit
ours from the `begin` event. A connection opened with the execution option `sqlite_begin="DEFERRED"` starts
a plain deferred transaction instead (read-only checks such as `SqlStore.ping`).

A database that answers but refuses writes (a PostgreSQL standby after a failover, `default_transaction_read_only`
turned on, a SQLite file the process may not write) leaves read-only connections behind: a PostgreSQL session
keeps the setting it started with, and SQLite opens a file it may not write read-only and stays so. Pre-ping's
`SELECT 1` passes on them, so once writes are accepted again every pooled connection would still refuse them
until a restart. A read-only error therefore counts as a disconnect: the connection is dropped, and with it every
connection the pool opened until then; the next ones see the database as it is now.
"""

from __future__ import annotations

import select
import time
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, ExceptionContext, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import StaticPool

BUSY_TIMEOUT_MS = 30_000
# Enough connections for Bolt's listener threads, the HTTP server's threads and the timers at once.
POOL_SIZE = 10
MAX_OVERFLOW = 20
CONNECT_TIMEOUT_SECONDS = 5
IDLE_PING_SECONDS = 5.0  # a pooled PostgreSQL connection idle this long is pinged before it is used again
# SQLSTATE 25006 read_only_sql_transaction: a write in a read-only transaction (the session's default, a standby).
READ_ONLY_SQLSTATES = frozenset({"25006"})


def is_read_only_error(error: BaseException | None) -> bool:
    """True when `error` (a driver error, or SQLAlchemy's wrapper of one) says the database refuses writes."""
    original = getattr(error, "orig", None) or error
    if getattr(original, "sqlstate", None) in READ_ONLY_SQLSTATES:
        return True
    return str(getattr(original, "sqlite_errorname", "")).startswith("SQLITE_READONLY")


READ_ONLY = ("the database answers but refuses writes (a read-only standby, default_transaction_read_only, or "
             "a SQLite file this process may not write), and atlas-access must write to it")


def database_problem(error: BaseException, *, doing: str) -> str:
    """One sentence for a database error while `doing` something: the driver's class names the cause; its
    message is left out, since it quotes the SQL, its parameters or the database URL."""
    if is_read_only_error(error):
        return READ_ONLY
    cause = getattr(error, "orig", None) or error
    return f"the database failed {doing} ({type(cause).__name__}); see its own log for why"


def normalize_url(url: str) -> str:
    """`postgresql://` and `postgres://` mean psycopg 3, the driver we ship."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def make_engine(url: str, **options: Any) -> Engine:
    """An engine for `url` (SQLite file, `sqlite://` in memory, or PostgreSQL); `options` go to create_engine."""
    url = normalize_url(url)
    # A failed statement's text reaches logs and tracebacks: its SQL may, the values people typed may not.
    options.setdefault("hide_parameters", True)
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url, **options)
    if backend == "postgresql":
        idle_ping = options.pop("idle_ping_seconds", IDLE_PING_SECONDS)
        # A database that drops packets instead of refusing must not hang a Slack ack or /healthz for minutes.
        if "connect_timeout" not in make_url(url).query:  # the operator's own (in the URL) wins
            options["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_SECONDS, **options.get("connect_args", {})}
        if "poolclass" not in options:  # sizes only apply to the default QueuePool
            options.setdefault("pool_size", POOL_SIZE)
            options.setdefault("max_overflow", MAX_OVERFLOW)
            options.setdefault("pool_recycle", 1800)
        engine = create_engine(url, **options)
        event.listen(engine, "handle_error", _on_error)
        _ping_when_idle(engine, idle_ping)
        return engine
    return create_engine(url, **options)


def _ping_when_idle(engine: Engine, after_seconds: float) -> None:
    """Check a pooled connection at checkout without a round trip, and ping it only when it sat idle.

    SQLAlchemy's pool_pre_ping pings at every checkout: a round trip per unit of work, a tenth of a replica's CPU
    while it revokes (py-spy on bench/revocation.py, where a revocation takes several units of work). Instead:
    - a server that ended the session (a restart, a failover, pg_terminate_backend) said so and closed the
      socket, so an idle connection's socket is readable: a zero-timeout select sees it, no round trip;
    - a connection idle for `after_seconds` or more is pinged too, for what only a round trip shows (a
      firewall that dropped the flow silently).
    Either way a dead connection raises DisconnectionError, and the pool checks out another.
    """

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None:
            return  # just connected
        try:
            readable, _, _ = select.select([dbapi_connection.fileno()], [], [], 0)
        except (OSError, ValueError) as error:  # closed already
            raise DisconnectionError("the pooled connection is closed") from error
        if readable:  # an idle session has nothing to say but its end (we LISTEN to nothing)
            raise DisconnectionError("the server ended the pooled connection's session")
        if time.monotonic() - since < after_seconds:
            return  # used a moment ago, and the server has not ended it
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            dbapi_connection.rollback()  # psycopg opened a transaction for the SELECT: leave none behind
        except Exception as error:  # dead: the pool drops it and checks out another (DisconnectionError's contract)
            raise DisconnectionError("the pooled connection no longer answers") from error


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _sqlite_engine(url: str, **options: Any) -> Engine:
    database = make_url(url).database
    in_memory = not database or database == ":memory:"
    connect_args = {"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000, **options.pop("connect_args", {})}
    if in_memory:
        # One connection shared by every thread, so each session sees the same in-memory database.
        options.setdefault("poolclass", StaticPool)
        options.pop("pool_size", None)  # a size means nothing to that one connection
        options.pop("max_overflow", None)
    elif "poolclass" not in options:
        options.setdefault("pool_size", POOL_SIZE)
        options.setdefault("max_overflow", MAX_OVERFLOW)
    engine = create_engine(url, connect_args=connect_args, **options)
    event.listen(engine, "connect", _on_sqlite_connect)
    event.listen(engine, "begin", _on_sqlite_begin)
    if not in_memory:  # the one shared in-memory connection is the database: it must never be dropped
        event.listen(engine, "handle_error", _on_error)
    return engine


def _on_error(context: ExceptionContext) -> None:
    if is_read_only_error(context.original_exception):
        context.is_disconnect = True  # drop this connection and those opened before it (see the module's doc)


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

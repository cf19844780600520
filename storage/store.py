"""The SQL implementation of `access.ports.Store`: units of work over one engine, and the secret-key check.

A unit of work is one connection and one transaction: repositories share it and never commit; the unit
commits when its block ends and rolls back if the block raises. On SQLite the transaction opens with
BEGIN IMMEDIATE (see `storage.engine`), so a unit of work is the only writer from its first statement.
A database that is away leaves a unit of work as `access.errors.StoreUnavailable` (see `storage.errors`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, false, select, text, update

from access.config import IntegrationSpec
from access.ports import (
    AuditLog,
    Clock,
    DatabaseHealth,
    FlowRepository,
    GrantRepository,
    IntegrationRepository,
    InventoryRepository,
    RequestRepository,
    Store,
    StoreHealth,
    UnitOfWork,
)
from storage.audit import SqlAuditLog
from storage.config_repos import INTEGRATION, SpecCache, SqlFlowRepository, SqlIntegrationRepository
from storage.crypto import SecretBox, SecretKeyError
from storage.engine import is_read_only_error, is_sqlite
from storage.errors import translated
from storage.grants import GRANT, SqlGrantRepository
from storage.inventory import SqlInventoryRepository
from storage.requests import SqlRequestRepository

# A write that changes nothing: refused all the same by a read-only database (PostgreSQL checks before it looks
# for rows; SQLite when it takes the write lock). No row is locked, so it never waits on other writers' rows.
_WRITE_PROBE = update(GRANT).where(false()).values(version=GRANT.c.version)


class NestedUnitOfWork(RuntimeError):
    """A unit of work was opened inside another on the same thread, which SQLite cannot serve."""


class SqlUnitOfWork:
    def __init__(self, session: Connection, secrets: SecretBox, now: Callable[[], datetime],
                 specs: SpecCache | None = None) -> None:
        # Typed as the ports (the UnitOfWork Protocol's attributes are invariant), checked here by mypy.
        self.session = session
        self._integrations = SqlIntegrationRepository(session, secrets, now, specs)
        self._specs = specs
        self.requests: RequestRepository = SqlRequestRepository(session)
        self.grants: GrantRepository = SqlGrantRepository(session)
        self.audit: AuditLog = SqlAuditLog(session)
        self.integrations: IntegrationRepository = self._integrations
        self.flows: FlowRepository = SqlFlowRepository(session, now)
        self.inventory: InventoryRepository = SqlInventoryRepository(session)

    def commit(self) -> None:
        """Commit what was done so far; later work in the block runs in a new transaction."""
        self.session.commit()
        self.committed()

    def committed(self) -> None:
        """After a commit: drop the cached integrations if this unit changed one (see SpecCache)."""
        if self._integrations.written and self._specs is not None:
            self._specs.invalidate()


class SqlStore:
    def __init__(self, engine: Engine, secret_box: SecretBox, *, clock: Clock | None = None,
                 spec_cache_seconds: float = 2.0) -> None:
        self.engine = engine
        self._secrets = secret_box
        self.specs = SpecCache(spec_cache_seconds)
        self._clock = clock
        self._open = threading.local()

    def __repr__(self) -> str:
        return f"SqlStore({self.engine.url!r})"  # the URL's repr hides its password

    @contextmanager
    def unit_of_work(self) -> Iterator[SqlUnitOfWork]:
        """A transaction: commits when the block ends without an exception, rolls back otherwise.

        The database away (at any statement, or at the commit) raises StoreUnavailable.
        """
        # A Core connection, not an ORM Session: the repositories only run statements, and a Session's own
        # bookkeeping was about half of a short unit of work's CPU (the worker runs several per grant).
        with self._guard(), translated(), self.engine.connect() as connection:
            try:
                uow = SqlUnitOfWork(connection, self._secrets, self._now, self.specs)
                yield uow
                connection.commit()
                uow.committed()
            except BaseException:
                connection.rollback()
                raise

    def integration(self, name: str) -> IntegrationSpec | None:
        """One integration, from the cache of decrypted specs while fresh: up to its ttl old when another
        process changed it, never when this one did (see SpecCache). For hot paths; admin views read anew."""
        return self.specs.get_or_read(name, lambda: self._read_integration(name))

    def _read_integration(self, name: str) -> IntegrationSpec | None:
        with self.unit_of_work() as uow:
            return uow.integrations.get(name)

    def ping(self) -> bool:
        """True when the database answers (a read, without taking SQLite's write lock)."""
        try:
            with self.engine.connect() as connection:
                connection.execution_options(sqlite_begin="DEFERRED").execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    def health(self) -> DatabaseHealth:
        """Whether the database answers and takes writes: a write that changes nothing, rolled back.

        A read-only connection it meets is dropped (see `storage.engine`), so the next check, like the next
        unit of work, sees the database as it is by then. A SQLite file this process may no longer open for
        writing counts as read-only even while connections opened before can still write to its WAL: new
        connections cannot, and neither can the checkpoint.
        """
        if self._file_read_only():
            return DatabaseHealth.READ_ONLY
        health, lost = self._probe()
        if health is DatabaseHealth.READ_ONLY or lost:
            # The connection may have been opened while the database refused writes, and kept since, or been
            # dropped by the server while it sat in the pool (a recently used one is not pinged: see
            # storage.engine): either drops the pool's connections, so a second probe asks a new one.
            health, _ = self._probe()
        return health

    def _probe(self) -> tuple[DatabaseHealth, bool]:
        """(the health a write probe finds, whether it met a pooled connection the server had dropped)."""
        try:
            with self.engine.connect() as connection:
                connection.execution_options(sqlite_begin="DEFERRED").execute(_WRITE_PROBE)
                connection.rollback()
        except Exception as error:
            if is_read_only_error(error):
                return DatabaseHealth.READ_ONLY, False
            return DatabaseHealth.UNREACHABLE, bool(getattr(error, "connection_invalidated", False))
        return DatabaseHealth.OK, False

    def _file_read_only(self) -> bool:
        database = self.engine.url.database
        if not is_sqlite(self.engine) or not database or database == ":memory:":
            return False
        files = [Path(database), Path(database + "-wal")]
        return any(path.exists() and not os.access(path, os.W_OK) for path in files)

    def has_encrypted_secrets(self) -> bool:
        return self._first_ciphertext() is not None

    def check_secret_key(self) -> None:
        """Raise SecretKeyError unless the configured key decrypts the stored secrets (nothing stored: fine)."""
        ciphertext = self._first_ciphertext()
        if ciphertext is not None:
            self._secrets.decrypt(ciphertext)

    def dispose(self) -> None:
        self.engine.dispose()

    def _first_ciphertext(self) -> str | None:
        statement = select(INTEGRATION.c.credential_secret).where(INTEGRATION.c.credential_secret.is_not(None))
        with translated(), self.engine.connect() as connection:
            value = connection.execution_options(sqlite_begin="DEFERRED").execute(statement.limit(1)).scalar()
        return None if value is None else str(value)

    def _now(self) -> datetime:
        return self._clock.now() if self._clock is not None else datetime.now(UTC)

    @contextmanager
    def _guard(self) -> Iterator[None]:
        # On SQLite the outer unit of work holds the write lock, so an inner one on the same thread would
        # wait out busy_timeout and fail; say so at once instead. PostgreSQL serves nested units fine.
        depth = getattr(self._open, "depth", 0)
        if depth and is_sqlite(self.engine):
            raise NestedUnitOfWork(
                "a unit of work was opened inside another on the same thread; on SQLite the outer one holds "
                "the write lock. Finish (or commit) the outer one first."
            )
        self._open.depth = depth + 1
        try:
            yield
        finally:
            self._open.depth = depth


if TYPE_CHECKING:

    def _implements_the_ports(store: SqlStore, uow: SqlUnitOfWork) -> tuple[Store, StoreHealth, UnitOfWork]:
        return store, store, uow  # mypy proves SqlStore and SqlUnitOfWork satisfy access.ports


__all__ = ["DatabaseHealth", "NestedUnitOfWork", "SecretKeyError", "SqlStore", "SqlUnitOfWork"]

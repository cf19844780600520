"""The SQL implementation of `access.ports.Store`: units of work over one engine, and the secret-key check.

A unit of work is one Session and one transaction: repositories share it and never commit; the unit
commits when its block ends and rolls back if the block raises. On SQLite the transaction opens with
BEGIN IMMEDIATE (see `storage.engine`), so a unit of work is the only writer from its first statement.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from access.config import IntegrationSpec
from access.ports import (
    AuditLog,
    Clock,
    FlowRepository,
    GrantRepository,
    IntegrationRepository,
    InventoryRepository,
    RequestRepository,
    Store,
    UnitOfWork,
)
from storage.audit import SqlAuditLog
from storage.config_repos import INTEGRATION, SpecCache, SqlFlowRepository, SqlIntegrationRepository
from storage.crypto import SecretBox, SecretKeyError
from storage.engine import is_sqlite
from storage.grants import SqlGrantRepository
from storage.inventory import SqlInventoryRepository
from storage.requests import SqlRequestRepository


class NestedUnitOfWork(RuntimeError):
    """A unit of work was opened inside another on the same thread, which SQLite cannot serve."""


class SqlUnitOfWork:
    def __init__(self, session: Session, secrets: SecretBox, now: Callable[[], datetime],
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
        """A transaction: commits when the block ends without an exception, rolls back otherwise."""
        with self._guard(), Session(self.engine, expire_on_commit=False) as session:
            try:
                uow = SqlUnitOfWork(session, self._secrets, self._now, self.specs)
                yield uow
                session.commit()
                uow.committed()
            except BaseException:
                session.rollback()
                raise

    def integration(self, name: str) -> IntegrationSpec | None:
        """One integration, from the cache of decrypted specs while fresh: up to its ttl old when another
        process changed it, never when this one did (see SpecCache). For hot paths; admin views read anew."""
        found, spec = self.specs.get(name)
        if found:
            return spec
        generation = self.specs.generation
        with self.unit_of_work() as uow:
            spec = uow.integrations.get(name)
        self.specs.put(name, spec, generation=generation)
        return spec

    def ping(self) -> bool:
        """True when the database answers (a read, without taking SQLite's write lock)."""
        try:
            with self.engine.connect() as connection:
                connection.execution_options(sqlite_begin="DEFERRED").execute(text("SELECT 1"))
            return True
        except Exception:
            return False

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
        with self.engine.connect() as connection:
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

    def _implements_the_ports(store: SqlStore, uow: SqlUnitOfWork) -> tuple[Store, UnitOfWork]:
        return store, uow  # mypy proves SqlStore and SqlUnitOfWork satisfy access.ports


__all__ = ["NestedUnitOfWork", "SecretKeyError", "SqlStore", "SqlUnitOfWork"]

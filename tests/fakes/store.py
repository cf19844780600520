"""MemoryStore: the `access.ports.Store` in memory, with the semantics of `storage.store.SqlStore` that use cases
rely on (checked by tests/contracts/test_store_contract.py against SQLite and PostgreSQL).

- A unit of work is a transaction: its changes are seen by others only once it commits (at the end of its block,
  or at `uow.commit()`, after which the block goes on in a new transaction); an exception rolls back what was
  not committed.
- One unit of work at a time, as SQLite's BEGIN IMMEDIATE gives (the product's default database); one opened
  inside another on the same thread is refused at once, as `SqlStore` refuses it on SQLite.
- Saves are compare-and-set on `version` (StaleWrite); the once-only keys are unique (Duplicate, after which the
  unit of work is spoilt, as a PostgreSQL transaction is); a grant needs its request and is its only one.
- `claim_due_starting_revocations` leases due grants exactly as the SQL claim does.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

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
from tests.fakes.config import MemoryFlows, MemoryIntegrations
from tests.fakes.inventory import MemoryInventory, counts
from tests.fakes.requests_grants import MemoryAudit, MemoryGrants, MemoryLedger, MemoryRequests, Transaction
from tests.fakes.tables import Sequences, Tables, spec_of


class NestedUnitOfWork(RuntimeError):
    """A unit of work was opened inside another on the same thread (SQLite cannot serve it, so neither do we)."""


class MemoryUnitOfWork:
    def __init__(self, store: MemoryStore, tables: Tables) -> None:
        self._store = store
        self._tx = Transaction(tables, store.sequences)
        self.requests: RequestRepository = MemoryRequests(self._tx)
        self.grants: GrantRepository = MemoryGrants(self._tx)
        self.audit: AuditLog = MemoryAudit(self._tx)
        self.integrations: IntegrationRepository = MemoryIntegrations(
            self._tx, store.now, lambda name: counts(self._tx, name))
        self.flows: FlowRepository = MemoryFlows(self._tx, store.now)
        self.inventory: InventoryRepository = MemoryInventory(self._tx)

    def commit(self) -> None:
        """Publish what was done so far; later work in the block runs in a new transaction."""
        self._tx.check()
        if self._tx.dirty:
            self._store.publish(self._tx.tables)
            self._tx.tables, self._tx.dirty = self._tx.tables.copy(), False


class MemoryStore:
    def __init__(self, *, clock: Clock | None = None) -> None:
        self._clock = clock
        self._committed = Tables()
        self.sequences = Sequences()
        self._writer = threading.Lock()  # one unit of work at a time, as BEGIN IMMEDIATE on SQLite
        self._open = threading.local()
        self.commits = 0  # how many transactions were committed (for tests that count them)
        self._failing_commits: list[Exception] = []

    def __repr__(self) -> str:
        return "MemoryStore()"

    @contextmanager
    def unit_of_work(self) -> Iterator[MemoryUnitOfWork]:
        if getattr(self._open, "depth", 0):
            raise NestedUnitOfWork("a unit of work was opened inside another on the same thread; on SQLite the "
                                   "outer one holds the write lock. Finish (or commit) the outer one first.")
        self._open.depth = 1
        try:
            with self._writer:
                uow = MemoryUnitOfWork(self, self._committed.copy())
                yield uow  # an exception leaves the copy unpublished: rolled back
                uow.commit()
        finally:
            self._open.depth = 0

    def fail_commits(self, error: Exception, *, count: int = 1) -> None:
        """The next `count` commits that write raise `error` and store nothing (the database went away)."""
        self._failing_commits.extend([error] * count)

    def publish(self, tables: Tables) -> None:
        if self._failing_commits:
            raise self._failing_commits.pop(0)
        self._committed = tables
        self.commits += 1

    def committed(self) -> Tables:
        """What another connection would read now."""
        return self._committed

    def integration(self, name: str) -> IntegrationSpec | None:
        row = self._committed.integrations.get(name)
        return None if row is None else spec_of(row)

    def ping(self) -> bool:
        return True

    def ledger(self) -> MemoryLedger:
        return MemoryLedger(self.committed)

    def now(self) -> datetime:
        return self._clock.now() if self._clock is not None else datetime.now(UTC)


def _implements_the_ports(store: MemoryStore, uow: MemoryUnitOfWork) -> tuple[Store, UnitOfWork]:
    return store, uow  # mypy proves MemoryStore and MemoryUnitOfWork satisfy access.ports

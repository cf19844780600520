"""The Store contract's two kinds of world: the MemoryStore, and SqlStore on a SQLite file or PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Engine, text

from access.ports import Store
from access.reconcile import GrantLedger
from storage.crypto import SecretBox
from storage.grant_ledger import SqlGrantLedger
from storage.store import SqlStore
from tests.fakes import ManualClock, MemoryStore
from tests.fakes.config import MemoryFlows


class StoreWorld:
    """A store under test, its clock, and the grant ledger that reads it from outside any unit of work."""

    def __init__(self, *, store: Store, ledger: GrantLedger, clock: ManualClock, kind: str) -> None:
        self.store, self.ledger, self.clock, self.kind = store, ledger, clock, kind

    def damage_flow(self, name: str, **columns: str) -> None:
        """A flow row changed outside the bot (by hand in the database): its columns set to these values."""
        assert isinstance(self.store, MemoryStore)
        with self.store.unit_of_work() as uow:
            flows = uow.flows
            assert isinstance(flows, MemoryFlows)
            flows.damage(name, **columns)

    @classmethod
    def fake(cls) -> StoreWorld:
        clock = ManualClock()
        store = MemoryStore(clock=clock)
        return cls(store=store, ledger=store.ledger(), clock=clock, kind="fake")


class SqlStoreWorld(StoreWorld):
    def __init__(self, engine: Engine, secrets: SecretBox, *, kind: str) -> None:
        clock = ManualClock()
        store = SqlStore(engine, secrets, clock=clock, spec_cache_seconds=0)
        super().__init__(store=store, ledger=SqlGrantLedger(engine), clock=clock, kind=kind)
        self._engine = engine

    def damage_flow(self, name: str, **columns: str) -> None:
        with self._engine.begin() as connection:
            for column, value in columns.items():
                connection.execute(text(f"UPDATE access_flow SET {column} = :value WHERE name = :name"),  # noqa: S608
                                   {"value": value, "name": name})

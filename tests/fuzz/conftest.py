"""The fuzzing world: the end-to-end harness with one pending request of ann's, and the checks every fuzz
test ends with (no 5xx, nothing changed, nothing failed unseen after an ack)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import text as sql

from access.entities import AccessRequest
from tests.e2e.harness import ANN, READ, Harness

# Fixtures outlive examples on purpose (one world per test); a bounded number of examples keeps it quick.
FUZZ = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])
# A refusal's audit row records the attempt; it changes nothing, so it is not counted as a change.
REFUSALS_APART = {"audit_event": "WHERE action NOT LIKE '%refused'"}
TABLES = ("access_request", '"grant"', "audit_event", "integration", "access_flow", "atlas_project")


class Fuzzed:
    """A world under attack: the harness, ann's pending request, and what must not change."""

    def __init__(self, harness: Harness, request: AccessRequest) -> None:
        self.world = harness
        self.request = request
        self.failures: list[logging.LogRecord] = []
        self.before: tuple[Any, ...] = ()

    def check_nothing_changed(self) -> None:
        """Then: no row and no Atlas state changed, and nothing failed after an ack where no one would see it."""
        self.settle()
        after = self.snapshot()
        changed = [(table, sorted(set(now) ^ set(then))) for table, now, then in zip(TABLES, after[0], self.before[0])
                   if now != then]
        assert changed == [] and after[1] == self.before[1], (changed, after[1], self.before[1])
        assert [f"{r.name}: {r.getMessage()}" for r in self.failures] == []

    def snapshot(self) -> tuple[Any, ...]:
        """Every row of the tables a request could change, and every write Atlas received."""
        with self.world.runtime.store.engine.connect() as connection:
            rows = tuple(tuple(map(tuple, connection.execute(sql(f"SELECT * FROM {t} {REFUSALS_APART.get(t, '')} "
                                                                 "ORDER BY 1")))) for t in TABLES)
        writes = sum(1 for call in self.world.sb.calls if call.method != "GET")
        return rows, writes

    def settle(self) -> None:
        """Wait until the work handed over after acks is done: nothing new in Slack for a while."""
        seen, quiet_since = -1, time.monotonic()
        deadline = time.monotonic() + 20
        while time.monotonic() - quiet_since < 0.3 and time.monotonic() < deadline:
            count = len(self.world.sim.calls)
            if count != seen:
                seen, quiet_since = count, time.monotonic()
            time.sleep(0.02)


class _Failures(logging.Handler):
    def __init__(self, into: list[logging.LogRecord]) -> None:
        super().__init__(logging.ERROR)
        self._into = into

    def emit(self, record: logging.LogRecord) -> None:
        self._into.append(record)


@pytest.fixture
def fuzzed(tmp_path: Path) -> Iterator[Fuzzed]:
    harness = Harness(tmp_path)
    handler: logging.Handler | None = None
    try:
        state = Fuzzed(harness, harness.request(ANN, "payments", [READ], duration="2h"))
        state.settle()
        state.before = state.snapshot()
        handler = _Failures(state.failures)
        logging.getLogger().addHandler(handler)
        yield state
    finally:
        if handler is not None:
            logging.getLogger().removeHandler(handler)
        harness.close()

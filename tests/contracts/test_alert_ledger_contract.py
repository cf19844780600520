"""The AlertLedger contract, on the memory fake, SQLite and PostgreSQL: a failure of a round on an integration is
told once until that integration's work in the round goes through; two replicas telling it at once tell it once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from access.ports import AlertLedger
from storage.alerts import SqlAlertLedger
from tests.contracts.conftest import STORES, sql_engine
from tests.fakes import ManualClock
from tests.fakes.alerts import MemoryAlertLedger

FAILURE = "AtlasAuthError: 401 Unauthorized"


@pytest.fixture(params=STORES)
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AlertLedger]:
    if request.param == "fake":
        yield MemoryAlertLedger()
        return
    engine = sql_engine(request, tmp_path)
    yield SqlAlertLedger(engine, ManualClock())
    engine.dispose()


def test_a_failure_is_told_once_until_the_work_goes_through(ledger: AlertLedger) -> None:
    assert ledger.tell_once(round_name="sync", integration="prod", failure=FAILURE)
    assert not ledger.tell_once(round_name="sync", integration="prod", failure=FAILURE)
    # another failure, another integration, another round: each news of its own
    assert ledger.tell_once(round_name="sync", integration="prod", failure="StoreUnavailable: gone")
    assert ledger.tell_once(round_name="sync", integration="alpha", failure=FAILURE)
    assert ledger.tell_once(round_name="reconcile", integration="prod", failure=FAILURE)
    # prod's sync works again: its failures are news again; alpha's and prod's reconcile stay told
    ledger.works_again(round_name="sync", integrations={"prod"})
    assert ledger.tell_once(round_name="sync", integration="prod", failure=FAILURE)
    assert not ledger.tell_once(round_name="sync", integration="alpha", failure=FAILURE)
    assert not ledger.tell_once(round_name="reconcile", integration="prod", failure=FAILURE)
    ledger.works_again(round_name="sync", integrations=())  # nothing worked: nothing forgotten
    assert not ledger.tell_once(round_name="sync", integration="prod", failure=FAILURE)


def test_replicas_telling_the_same_failure_at_once_tell_it_once(ledger: AlertLedger) -> None:
    start, told = threading.Barrier(8), []

    def replica() -> None:
        start.wait(5)
        told.append(ledger.tell_once(round_name="sync", integration="prod", failure=FAILURE))

    threads = [threading.Thread(target=replica) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(told) == [False] * 7 + [True]

"""A database that is away reaches the callers as the domain's StoreUnavailable, at every way in (a unit of work,
the outbox, the grant ledger), on SQLite and PostgreSQL; a statement that fails for another reason does not."""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from access.errors import StoreUnavailable
from access.model import GrantStatus
from access.ports import Duplicate, StaleWrite
from storage.crypto import SecretBox
from storage.engine import make_engine
from storage.errors import DatabaseUnavailable
from storage.grant_ledger import SqlGrantLedger
from storage.outbox import SqlOutbox
from storage.store import SqlStore
from storage.testing import sqlite_url
from tests.storage import builders as b
from tests.storage.conftest import require_postgres

PASSWORD = "hunter2-not-in-any-message"
AWAY = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=AWAY)
def away(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine whose database cannot be reached: a SQLite file in a directory that is gone, or a PostgreSQL
    port nobody listens on (its URL carries a password, which no error may show)."""
    if request.param == "sqlite":
        url = sqlite_url(tmp_path / "gone")
    else:
        require_postgres()
        url = f"postgresql+psycopg://atlas:{PASSWORD}@127.0.0.1:1/atlas"
    engine = make_engine(url)
    yield engine
    engine.dispose()


def _store(engine: Engine) -> SqlStore:
    return SqlStore(engine, SecretBox(SecretBox.generate_key()), clock=b.Clock())


def _unit_of_work(engine: Engine) -> None:
    with _store(engine).unit_of_work() as uow:
        uow.requests.pending()


WAYS_IN: dict[str, Callable[[Engine], object]] = {
    "unit of work": _unit_of_work,
    "cached integration": lambda engine: _store(engine).integration("prod"),
    "secret key check": lambda engine: _store(engine).check_secret_key(),
    "outbox put": lambda engine: SqlOutbox(engine, b.Clock()).put("post:a", {"text": "hello"}),
    "outbox take": lambda engine: SqlOutbox(engine, b.Clock()).take(lease=timedelta(seconds=60)),
    "outbox waiting": lambda engine: SqlOutbox(engine, b.Clock()).waiting(),
    "grant ledger": lambda engine: SqlGrantLedger(engine).grants(integration="prod", statuses=(GrantStatus.ACTIVE,)),
}


@pytest.mark.parametrize("way_in", sorted(WAYS_IN))
def test_a_database_that_is_away_is_store_unavailable(away: Engine, way_in: str) -> None:
    with pytest.raises(StoreUnavailable) as raised:
        WAYS_IN[way_in](away)
    error = raised.value
    assert error.cause == "OperationalError"  # the driver's class, for a log line
    assert PASSWORD not in str(error) and PASSWORD not in repr(error) and PASSWORD not in error.cause
    # and callers written before the port, which catch SQLAlchemy's error, still do
    assert isinstance(error, OperationalError) and error.orig is not None


def test_the_translated_error_survives_pickling(away: Engine) -> None:
    with pytest.raises(DatabaseUnavailable) as raised:
        _unit_of_work(away)
    copy = pickle.loads(pickle.dumps(raised.value))  # noqa: S301 - our own error, made just now
    assert isinstance(copy, StoreUnavailable) and copy.cause == raised.value.cause


def test_a_connection_lost_mid_transaction_is_store_unavailable(postgres_url: str) -> None:
    # given a unit of work whose connection the server drops (a failover, an admin's pg_terminate_backend)
    engine, admin = make_engine(postgres_url), make_engine(postgres_url)
    try:
        with pytest.raises(StoreUnavailable), _store(engine).unit_of_work() as uow:
            uow.requests.pending()
            pid = uow.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
            with admin.begin() as connection:
                connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            # when its next statement runs, then the caller hears StoreUnavailable
            uow.requests.pending()
    finally:
        engine.dispose()
        admin.dispose()


def test_outcomes_of_a_reachable_store_are_not_translated(store: SqlStore) -> None:
    # a compare-and-set that lost, and a second submission of the same Slack view, keep their own words
    with store.unit_of_work() as uow:
        first = uow.requests.add(b.request(submission_key="V1"))
    with pytest.raises(StaleWrite), store.unit_of_work() as uow:
        uow.requests.save(replace(first, version=99))
    with pytest.raises(Duplicate), store.unit_of_work() as uow:
        uow.requests.add(b.request(submission_key="V1"))

"""The grant worker backs a failed Atlas call off, and waits at least what Atlas asked for when it kept pacing us
(GatewayRateLimited.retry_after, capped). The worker runs on a real store (SQLite) and the real gateway, against
the Atlas sandbox answering every call with the fault; the client's own retries wait on a recorded sleep."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine

from access.entities import Grant
from access.model import GrantStatus
from access.worker import GrantWorker, WorkerOptions
from atlas.gateway import AtlasGateway
from storage.crypto import SecretBox
from storage.engine import make_engine
from storage.migrations import create_all
from storage.store import SqlStore
from storage.testing import sqlite_url
from tests.access.usecase_world import RecordingNotifier
from tests.atlas.helpers import World, new_world
from tests.fakes.vault import MemoryVault
from tests.storage import builders as b

G = GrantStatus
CAP = 300.0  # WorkerOptions.backoff_cap_seconds


@dataclass(frozen=True)
class Case:
    name: str
    status: int
    retry_after: float | None
    at_least: float
    at_most: float


CASES = [
    Case("429 asking for two minutes", 429, 120, 120, 120),
    Case("429 asking for a day, capped", 429, 86_400, CAP, CAP),
    Case("503: the worker's own backoff", 503, None, 0.0, 4.0),
]


@pytest.fixture
def atlas() -> Iterator[World]:
    built = new_world()
    yield built
    for client in built.clients:
        client.close()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    made = make_engine(sqlite_url(tmp_path))
    create_all(made)
    yield made
    made.dispose()


def worker_over(engine: Engine, atlas: World, *, clock: b.Clock) -> tuple[GrantWorker, SqlStore]:
    store = SqlStore(engine, SecretBox(SecretBox.generate_key()), clock=clock)
    with store.unit_of_work() as uow:
        uow.integrations.upsert(b.integration(organization_id=atlas.org_id))
    gateway = AtlasGateway(atlas.client())
    worker = GrantWorker(store=store, gateways=lambda _name: gateway, notifier=RecordingNotifier(), clock=clock,
                         options=WorkerOptions(owner="test", backoff_cap_seconds=CAP), vault=MemoryVault())
    return worker, store


def add_grant(store: SqlStore, atlas: World, **changes: object) -> Grant:
    project = atlas.sandbox.add_project(org_id=atlas.org_id, name="payments")
    with store.unit_of_work() as uow:
        request = uow.requests.add(b.request(organization_id=atlas.org_id, resource_id=project))
        return uow.grants.add(b.grant(request_id=request.id or 0, organization_id=atlas.org_id,
                                      resource_id=project, username="ann@example.com", **changes))


def wait_of(store: SqlStore, grant: Grant, clock: b.Clock) -> float:
    with store.unit_of_work() as uow:
        found = uow.grants.get(grant.id or 0)
    assert found is not None and found.next_attempt_at is not None
    return (found.next_attempt_at - clock.now()).total_seconds()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_failed_grant_waits_at_least_what_atlas_asked(engine: Engine, atlas: World, case: Case) -> None:
    clock = b.Clock()
    worker, store = worker_over(engine, atlas, clock=clock)
    grant = add_grant(store, atlas, status=G.GRANTING, next_attempt_at=clock.now())
    atlas.sandbox.faults.fail_next(status=case.status, retry_after=case.retry_after, count=10_000)
    assert worker.run_due() == 1
    assert case.at_least <= wait_of(store, grant, clock) <= case.at_most


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_failed_revocation_waits_at_least_what_atlas_asked(engine: Engine, atlas: World, case: Case) -> None:
    clock = b.Clock()
    worker, store = worker_over(engine, atlas, clock=clock)
    grant = add_grant(store, atlas, status=G.ACTIVE, granted_at=clock.now(), expires_at=clock.now(),
                      atlas_user_id="65a0000000000000000000ff")
    atlas.sandbox.faults.fail_next(status=case.status, retry_after=case.retry_after, count=10_000)
    assert worker.run_due() == 1
    with store.unit_of_work() as uow:
        assert (found := uow.grants.get(grant.id or 0)) is not None and found.status is G.FAILED
    assert case.at_least <= wait_of(store, grant, clock) <= case.at_most

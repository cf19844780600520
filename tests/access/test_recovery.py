"""Stranded requests (stored and acked, never announced) are announced by a later round, once, by one replica.

The use case runs on a real store (SQLite) with the real AccessService announcing; Slack is a recording notifier
that can be told to refuse the approval message; Atlas is never reached."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from access.config import IntegrationSpec
from access.entities import AccessRequest
from access.errors import StoreUnavailable
from access.recovery import StrandedRequests
from access.rounds import FaultIsolation
from access.service import AccessService
from access.worker import GrantWorker, WorkerOptions
from storage.crypto import SecretBox
from storage.engine import make_engine
from storage.migrations import create_all
from storage.store import SqlStore
from storage.testing import sqlite_url
from tests.access.fakes import Directory
from tests.access.usecase_world import ANN, ROLES, RecordingNotifier, no_atlas
from tests.fakes.vault import MemoryVault
from tests.storage import builders as b

LEASE = timedelta(seconds=60)


class SlackDown(RecordingNotifier):
    """Slack refusing approval messages through every retry while `down`; owner alerts are recorded."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.alerts: list[str] = []

    def post_request(self, *, request: AccessRequest, integration: IntegrationSpec) -> tuple[str, str] | None:
        return None if self.down else super().post_request(request=request, integration=integration)

    def alert_owners(self, *, integration: IntegrationSpec, text: str) -> None:
        self.alerts.append(text)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    made = make_engine(sqlite_url(tmp_path))
    create_all(made)
    yield made
    made.dispose()


class World:
    """The integration prod with one flow and the project payments; ann asks for access to it."""

    def __init__(self, store: SqlStore, clock: b.Clock, *, seed: bool = True) -> None:
        self.store, self.clock, self.notifier = store, clock, SlackDown()
        worker = GrantWorker(store=store, gateways=no_atlas, notifier=self.notifier, clock=clock,
                             options=WorkerOptions(owner="test"), vault=MemoryVault())
        self.service = AccessService(store=store, gateways=no_atlas, directory=Directory(), notifier=self.notifier,
                                     clock=clock, worker=worker)
        self.project = b.project(1, name="payments", env="prod")
        if seed:
            with store.unit_of_work() as uow:
                uow.integrations.upsert(b.integration())
                uow.flows.upsert(b.flow(roles=list(ROLES)))
                uow.inventory.apply(integration="prod", inventory=b.inventory((self.project,)), now=clock.now())


@pytest.fixture
def world(engine: Engine) -> World:
    clock = b.Clock()
    return World(SqlStore(engine, SecretBox(SecretBox.generate_key()), clock=clock), clock)


def recovery(world: World) -> StrandedRequests:
    return StrandedRequests(store=world.store, announcer=world.service, clock=world.clock, quiet_for=LEASE,
                            isolation=FaultIsolation(store=world.store, notifier=world.notifier))


def stored_unannounced(world: World) -> AccessRequest:
    """Ann's request as a Slack submission leaves it when the process dies right after the ack."""
    return world.service.submit(requester=ANN, integration="prod", resource_id=world.project.id, roles=ROLES,
                                duration=timedelta(hours=1), justification="incident 42", announce=False)


def message_of(world: World, request_id: int | None) -> str | None:
    with world.store.unit_of_work() as uow:
        found = uow.requests.get(request_id or 0)
    assert found is not None
    return found.message_ts


def test_a_request_left_without_its_message_is_announced_once_its_lease_has_passed(world: World) -> None:
    # given a request stored and acked, whose announcement died with the process
    request = stored_unannounced(world)
    # when a round runs within the lease (the announcement may still be on its way), then it is left alone
    world.clock.advance(LEASE.total_seconds() - 1)
    assert recovery(world).run() == 0 and message_of(world, request.id) is None
    # when a round runs after it, then its approval message is posted and the requester told
    world.clock.advance(1)
    assert recovery(world).run() == 1
    assert message_of(world, request.id) is not None
    assert world.notifier.told == [(request.id, "requested", None)]
    # and a later round leaves it: it has its message now
    world.clock.advance(LEASE.total_seconds() * 2)
    assert recovery(world).run() == 0 and world.notifier.told == [(request.id, "requested", None)]


def test_of_two_replicas_only_one_claims_a_stranded_request(world: World) -> None:
    request = stored_unannounced(world)
    world.clock.advance(LEASE.total_seconds())
    # when two replicas look at the same moment, then the first claims it, and the second finds it touched
    first, second = recovery(world), recovery(world)
    assert [r.id for r in first.claim()] == [request.id]
    assert second.claim() == []


def test_a_request_slack_keeps_refusing_is_tried_again_each_lease(world: World) -> None:
    request = stored_unannounced(world)
    world.notifier.down = True
    world.clock.advance(LEASE.total_seconds())
    # when Slack refuses the approval message, then the request stays unannounced, and the requester untold
    recovery(world).run()
    assert message_of(world, request.id) is None and world.notifier.told == []
    # and the next round after the lease tries again; once Slack is back, it goes
    world.notifier.down = False
    world.clock.advance(LEASE.total_seconds() - 1)
    assert recovery(world).run() == 0
    world.clock.advance(1)
    assert recovery(world).run() == 1 and message_of(world, request.id) is not None


def test_one_request_that_cannot_be_announced_does_not_stop_the_others(world: World) -> None:
    # given a stranded request of an integration that no longer reads, beside a good one
    with world.store.unit_of_work() as uow:
        broken = uow.requests.add(b.request(integration="gone", created_at=world.clock.now(),
                                            updated_at=world.clock.now()))
    good = stored_unannounced(world)
    world.clock.advance(LEASE.total_seconds())
    # when the round runs, then the good one is announced, and the broken one's failure stays its own
    assert recovery(world).run() == 1
    assert message_of(world, good.id) is not None and message_of(world, broken.id) is None


def test_a_store_that_is_away_says_so_in_the_domains_word(tmp_path: Path) -> None:
    # given a store whose database cannot be opened (its directory is gone)
    clock = b.Clock()
    store = SqlStore(make_engine(sqlite_url(tmp_path / "gone")), SecretBox(SecretBox.generate_key()), clock=clock)
    stranded = recovery(World(store, clock, seed=False))
    # when a round runs, then it fails as StoreUnavailable naming the driver's error class, for the timers to report
    with pytest.raises(StoreUnavailable) as raised:
        stranded.run()
    assert raised.value.cause == "OperationalError"

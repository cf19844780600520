"""The composition root's GatewayFactory: one Atlas client per integration, built once however many threads ask at
once, built anew when the integration's credentials change, and built at start-up for the enabled ones."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from access.errors import CredentialsMissing
from atlas.clients import AtlasClients
from bot.clock import ManualClock
from bot.gateways import GatewayFactory
from storage.config_repos import SpecCache
from storage.crypto import SecretBox
from storage.engine import make_engine
from storage.migrations import create_all
from storage.store import SqlStore
from storage.testing import sqlite_url
from tests.fakes.store import MemoryStore
from tests.storage.test_config_repos import Ticks
from tests.usecases.world import integration


def test_one_client_is_built_for_a_burst_of_first_grants_and_again_when_the_credentials_change() -> None:
    # given an integration, and a factory whose clients are counted as they are made (each reads the transport)
    clock = ManualClock()
    store = MemoryStore(clock=clock)
    with store.unit_of_work() as uow:
        uow.integrations.upsert(integration())
    built: list[int] = []
    lock = threading.Lock()

    def transport() -> httpx.BaseTransport | None:
        with lock:
            built.append(1)
        return None

    factory = GatewayFactory(store=store, clients=AtlasClients(clock=clock, transport=transport), max_concurrency=4)
    # when 16 worker threads ask for its gateway at the same moment (the first expiries of a burst)
    start = threading.Barrier(16)

    def ask(_: int) -> object:
        start.wait()
        return factory("prod")

    with ThreadPoolExecutor(max_workers=16) as pool:
        gateways = list(pool.map(ask, range(16)))
    # then one client was built, and all share its gateway
    assert len(built) == 1 and all(g is gateways[0] for g in gateways)
    # and once the credentials change (a rotation), the next call builds one anew
    with store.unit_of_work() as uow:
        uow.integrations.upsert(integration(credentials={"type": "api_key", "public_key": "pub00002",
                                                         "private_key": "priv-00002-secret"}))
    assert factory("prod") is not gateways[0] and len(built) == 2


def test_at_start_up_the_enabled_integrations_clients_are_built_before_any_grant_asks(
        caplog: pytest.LogCaptureFixture) -> None:
    # given three integrations: one enabled, one disabled, one whose private key names a variable that is not set
    clock = ManualClock()
    store = MemoryStore(clock=clock)
    with store.unit_of_work() as uow:
        uow.integrations.upsert(integration())
        uow.integrations.upsert(integration(name="staging", enabled=False))
        uow.integrations.upsert(integration(name="unset", credentials={
            "type": "api_key", "public_key": "pub00003", "private_key_env": "NOT_SET_ANYWHERE"}))
    built: list[int] = []
    factory = GatewayFactory(store=store, clients=AtlasClients(clock=clock, transport=lambda: built.append(1),
                                                               env={}), max_concurrency=4)
    # when the process prepares its clients
    with caplog.at_level("INFO"):
        assert factory.prepare() == 1
    # then the enabled integration's client is built, and its first grant builds none; the disabled one is not
    # built, and the one whose credentials cannot be read is left to its first use, named by its error's type
    assert len(built) == 1
    factory("prod")
    assert len(built) == 1
    assert "the Atlas client of unset is left to its first use (CredentialsMissing)" in caplog.text


def test_the_gateway_follows_the_environment_variables_its_credentials_name_at_once(tmp_path: Path) -> None:
    # given an integration whose private key is an environment variable, on a database store whose cache of specs
    # runs on a clock the test moves, and a factory whose clients are counted as they are made
    clock, ticks = ManualClock(), Ticks()
    engine = make_engine(sqlite_url(tmp_path))
    create_all(engine)
    store = SqlStore(engine, SecretBox(SecretBox.generate_key()), clock=clock)
    store.specs = SpecCache(2.0, monotonic=ticks)
    with store.unit_of_work() as uow:
        uow.integrations.upsert(integration(credentials={"type": "api_key", "public_key": "pub00001",
                                                         "private_key_env": "ATLAS_KEY"}))
    env, built = {"ATLAS_KEY": "priv-00001-secret"}, []
    factory = GatewayFactory(store=store, clients=AtlasClients(clock=clock, transport=lambda: built.append(1),
                                                               env=env), max_concurrency=4)
    # when a burst of grant steps asks for its gateway, then they share one client, whether or not the spec was
    # read again meanwhile (the store's cache lasts two seconds)
    first = factory("prod")
    assert all(factory("prod") is first for _ in range(50))
    ticks.now += 2.1
    assert factory("prod") is first and len(built) == 1
    # and when the variable changes (a rotation outside the bot), the next call builds a client at once, with no
    # wait for the spec to be read again; and when it is unset, the next call says so
    env["ATLAS_KEY"] = "priv-00002-secret"
    second = factory("prod")
    assert second is not first and len(built) == 2
    del env["ATLAS_KEY"]
    with pytest.raises(CredentialsMissing):
        factory("prod")
    engine.dispose()

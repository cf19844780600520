"""The composition root's GatewayFactory: one Atlas client per integration, built once however many threads ask at
once, and built anew when the integration's credentials change."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx

from atlas.clients import AtlasClients
from bot.clock import ManualClock
from bot.gateways import GatewayFactory
from tests.fakes.store import MemoryStore
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

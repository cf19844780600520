"""Fault isolation in the timer rounds: one integration's failure stays its own, is told to its owners once while it
lasts, and the round goes on with the others (shown with the pending-request timeouts, whose flows are read one by
one)."""

from __future__ import annotations

from access.model import RequestStatus
from tests.fakes.config import MemoryFlows
from tests.storage import builders as b
from tests.usecases.world import World, flow, integration


def damage(world: World, name: str, **data: object) -> None:
    with world.store.unit_of_work() as uow:
        flows = uow.flows
        assert isinstance(flows, MemoryFlows)
        flows.damage(name, **data)


def staging_request(world: World) -> int:
    with world.store.unit_of_work() as uow:
        uow.integrations.upsert(integration(name="staging", approval_channel="C0STAGING"))
        uow.flows.upsert(flow("staging-projects", integration="staging"))
        added = uow.requests.add(b.request(integration="staging", flow="staging-projects", requester_id="U0EVE",
                                           created_at=world.clock.now(), updated_at=world.clock.now()))
    return added.id or 0


def test_a_flow_that_cannot_be_read_stops_its_own_requests_only_and_is_told_once(world: World) -> None:
    # given a request on each of two integrations, and prod's flow damaged in the database
    prod = world.submit().id or 0
    staging = staging_request(world)
    damage(world, "prod-projects", approval="sometimes")
    # when the round runs an hour later
    world.clock.advance(hours=1)
    world.timeouts.run()
    # then staging's request is reminded, prod's owners hear of the fault once, in one sentence
    assert world.request(staging).reminded_at is not None and world.request(prod).reminded_at is None
    [alert] = world.notifier.alerts()
    assert alert.integration == "prod" and "pending-request timeouts of *prod* failed" in alert.text
    assert "its stored configuration is not valid (approval:" in alert.text and "sometimes" not in alert.text
    # and a round that meets the same fault again tells nobody
    world.clock.advance(minutes=1)
    world.timeouts.run()
    assert len(world.notifier.alerts()) == 1
    # once the flow is saved again, the request is taken up where it was
    with world.store.unit_of_work() as uow:
        uow.flows.upsert(flow())
    world.timeouts.run()
    assert world.request(prod).reminded_at == world.clock.now()


def test_after_a_round_goes_through_the_same_fault_is_news_again(world: World) -> None:
    prod = world.submit().id or 0
    damage(world, "prod-projects", approval="sometimes")
    world.clock.advance(hours=1)
    world.timeouts.run()
    with world.store.unit_of_work() as uow:
        uow.flows.upsert(flow())
    world.timeouts.run()
    damage(world, "prod-projects", approval="sometimes")
    world.clock.advance(hours=3)
    world.timeouts.run()
    assert len(world.notifier.alerts()) == 2
    with world.store.unit_of_work() as uow:
        uow.flows.upsert(flow())
    world.clock.advance(hours=21)
    world.timeouts.run()
    assert world.request(prod).status is RequestStatus.EXPIRED



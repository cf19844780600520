"""The multi-step cluster grants when the process dies between two steps: modelled by a BaseException (which no
`except Exception` catches) raised by a fake at the step, as a SIGKILL would leave things. A new worker then finds
the grant where the database left it, and what was made in Atlas is finished or taken away."""

from __future__ import annotations

from datetime import timedelta

import pytest

from access.model import GrantStatus
from tests.usecases.world import ANN, BOB, CLUSTER, CLUSTER_FLOW, OPTIONS, PAYMENTS, World, flow

G = GrantStatus
LEASE = timedelta(seconds=OPTIONS.lease_seconds + 1)


class ProcessDied(BaseException):  # noqa: N818 - what a crash looks like from inside
    """The process stopped here."""


def died(operation: str) -> BaseException:
    return ProcessDied(operation)


def ask(world: World, roles: tuple[str, ...], network: str | None = None) -> int:
    request = world.service.submit(requester=ANN, integration="prod", resource_id=CLUSTER, roles=roles,
                                   duration=timedelta(hours=2), justification="INC-7: the payments queue is stuck",
                                   network=network, announce=False)
    world.service.announce(request_id=request.id or 0)
    with pytest.raises(ProcessDied):
        world.service.approve(request_id=request.id or 0, user_id=BOB)
    return world.grant_of(request.id or 0).id or 0


def test_a_crash_after_the_custom_role_before_the_user_is_finished_by_the_next_worker() -> None:
    world = World(flows=[flow(**{**CLUSTER_FLOW, "roles": ["read@orders.payments"]})])
    world.gateway.faults.fail_next(died, method="create_database_user")  # type: ignore[arg-type]
    grant_id = ask(world, ("read@orders.payments",))
    half = world.grant(grant_id)
    assert half.status is G.GRANTING and list(world.atlas.custom_roles[PAYMENTS]) == [f"{half.database_user}-c0"]
    assert world.atlas.database_users[PAYMENTS] == {}
    world.expire(LEASE)  # the dead worker's lease runs out; another claims the grant
    done = world.grant(grant_id)
    assert done.status is G.ACTIVE and list(world.atlas.custom_roles[PAYMENTS]) == [f"{done.database_user}-c0"]
    assert list(world.atlas.database_users[PAYMENTS]) == [done.database_user]
    world.reveals.reveal(grant_id=grant_id, user_id=ANN.user_id)
    world.expire(timedelta(hours=2))
    assert world.atlas.custom_roles[PAYMENTS] == {} and world.atlas.database_users[PAYMENTS] == {}


def test_a_crash_after_the_access_list_entry_before_the_user_is_finished_by_the_next_worker() -> None:
    world = World(flows=[flow(**{**CLUSTER_FLOW, "network_access": "requester_ip"})])
    world.gateway.faults.fail_next(died, method="create_database_user")  # type: ignore[arg-type]
    grant_id = ask(world, ("read@orders",), network="34.120.5.7")
    assert list(world.atlas.access_lists[PAYMENTS]) == ["34.120.5.7/32"]
    world.expire(LEASE)
    grant = world.grant(grant_id)
    assert grant.status is G.ACTIVE and world.atlas.access_lists[PAYMENTS]["34.120.5.7/32"].delete_after \
        == grant.expires_at


def test_a_crash_before_the_credentials_are_offered_leaves_a_user_the_sweep_deletes() -> None:
    world = World(flows=[flow(**CLUSTER_FLOW)])
    world.notifier.fail("offer_database_credentials", count=1)
    world.notifier.raising = True
    world.notifier.raise_as = died
    grant_id = ask(world, ("read@orders",))
    grant = world.grant(grant_id)
    assert grant.status is G.ACTIVE and world.vault.held() == [grant_id]  # saved, held, never offered
    world.expire(timedelta(minutes=10))
    assert world.grant(grant_id).status is G.REVOKED and world.atlas.database_users[PAYMENTS] == {}
    assert world.vault.held() == [] and "credentials_unrevealed" in world.notifier.told()

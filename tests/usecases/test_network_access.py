"""A network path that expires: a cluster flow with `network_access: requester_ip` puts the requester's address on
the project's IP access list with Atlas's own deleteAfterDate at the grant's expiry, and takes it off at the end,
unless it was there before or another live grant still needs it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from access.errors import FieldErrors
from access.model import AccessListEntry, GrantStatus
from tests.fakes.faults import KINDS
from tests.usecases.world import ANN, BOB, CLUSTER, CLUSTER_FLOW, DAN, PAYMENTS, World, flow, person

G = GrantStatus
H = timedelta(hours=1)
HOME = "34.120.5.7/32"


@pytest.fixture
def network() -> World:
    return World(flows=[flow(**{**CLUSTER_FLOW, "network_access": "requester_ip"})])


def entries(world: World) -> dict[str, object]:
    world.atlas.refresh()
    return {c: (e.delete_after, e.comment) for c, e in world.atlas.access_lists.get(PAYMENTS, {}).items()}


def granted(world: World, who: str = ANN.user_id, typed: str = "34.120.5.7", duration: timedelta = 2 * H) -> int:
    request = world.service.submit(requester=person(who), integration="prod", resource_id=CLUSTER,
                                   roles=("read@orders",), duration=duration, justification="INC-1 slow queries",
                                   network=typed)
    world.service.approve(request_id=request.id or 0, user_id=BOB)
    grant = world.grant_of(request.id or 0)
    if grant.status is G.ACTIVE:
        world.reveals.reveal(grant_id=grant.id or 0, user_id=who)
    return grant.id or 0


def test_the_address_is_on_the_list_until_the_grant_ends_and_then_taken_off(network: World) -> None:
    grant_id = granted(network)
    grant = network.grant(grant_id)
    assert (grant.network_entry, grant.network_added) == (HOME, True)
    assert entries(network) == {HOME: (grant.expires_at, f"atlas-access request #{grant.request_id} (ann@example.com)")}
    assert network.audit("granted")[-1].detail["network_entry"] == HOME
    network.expire(2 * H)
    assert network.grant(grant_id).status is G.REVOKED and entries(network) == {}


@pytest.mark.parametrize(("typed", "why"), [
    (None, "Type your public IP address"), ("10.0.0.8", "not a public address"), ("34.0.0.0/8", "too wide"),
    ("34.120.5.7/24", "host bits set"),
])
def test_a_missing_private_or_wide_address_is_refused_in_the_form(network: World, typed: str | None,
                                                                  why: str) -> None:
    with pytest.raises(FieldErrors) as refused:
        network.service.submit(requester=ANN, integration="prod", resource_id=CLUSTER, roles=("read@orders",),
                               duration=H, justification="INC-1: slow queries on orders", network=typed)
    assert why in refused.value.errors["network"] and network.requests() == []


def test_an_address_already_on_the_list_is_left_alone(network: World) -> None:
    network.atlas.access_lists[PAYMENTS] = {HOME: AccessListEntry(cidr=HOME, comment="office VPN")}
    before = entries(network)
    grant_id = granted(network)
    assert network.grant(grant_id).network_added is False and entries(network) == before
    network.expire(2 * H)
    assert network.grant(grant_id).status is G.REVOKED and entries(network) == before


def test_two_grants_share_the_entry_until_the_last_one_ends(network: World) -> None:
    first = granted(network, duration=2 * H)
    second = granted(network, who=DAN, duration=4 * H)
    assert network.grant(second).network_added is True
    assert entries(network)[HOME][0] == network.grant(second).expires_at  # type: ignore[index]
    network.expire(2 * H)
    assert network.grant(first).status is G.REVOKED and HOME in entries(network)
    network.expire(2 * H)
    assert network.grant(second).status is G.REVOKED and entries(network) == {}


def test_ending_early_shortens_a_shared_entry_to_what_the_other_grant_needs(network: World) -> None:
    first = granted(network, duration=4 * H)
    second = granted(network, who=DAN, duration=2 * H)
    network.selfservice.done(grant_id=first, user_id=ANN.user_id)
    assert entries(network)[HOME][0] == network.grant(second).expires_at  # type: ignore[index]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_failed_addition_is_retried_and_leaves_one_entry(network: World, kind: str) -> None:
    network.gateway.faults.fail_next(kind, method="put_access_list_entry")
    grant_id = granted(network)
    assert network.grant(grant_id).status is G.GRANTING and network.grant(grant_id).network_added is True
    network.expire(timedelta(seconds=2))
    grant = network.grant(grant_id)
    assert grant.status is G.ACTIVE and list(entries(network)) == [HOME]


def test_a_failed_removal_is_retried(network: World) -> None:
    grant_id = granted(network)
    network.gateway.faults.fail_next("unreachable", method="delete_access_list_entry")
    network.selfservice.done(grant_id=grant_id, user_id=ANN.user_id)
    assert network.grant(grant_id).status is G.FAILED and HOME in entries(network)
    network.expire(timedelta(seconds=2))
    assert network.grant(grant_id).status is G.REVOKED and entries(network) == {}
    assert network.atlas.database_users[PAYMENTS] == {}

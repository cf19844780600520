"""Discovery over the sandbox in tens of calls: listClusterDetails joined to the organization's projects, the
multi-cloud fallback, other organizations left out, pages retried on their own, projects that vanish mid-sync,
an empty organization, and a failed sync that leaves the stored inventory as it was."""

from __future__ import annotations

import math
from collections import Counter

import httpx
import pytest

from access.errors import GatewayUnauthorized, GatewayUnreachable
from access.model import DiscoveryType, Inventory, ResourceKind
from access.sync import SyncService
from atlas.gateway import AtlasGateway
from atlas.sandbox import SandboxTransport
from tests.atlas.helpers import World
from tests.fakes.clock import ManualClock
from tests.fakes.store import MemoryStore
from tests.usecases.world import integration

TYPES = [DiscoveryType.ORGANIZATIONS, DiscoveryType.PROJECTS]
PAGE = 500


def seed(world: World, *, projects: int, users: int = 0, clusters: int = 1) -> list[str]:
    sb = world.sandbox
    groups = [sb.add_project(org_id=world.org_id, name=f"p-{i:05d}", tags={"owner": f"team-{i % 7}"})
              for i in range(projects)]
    for group in groups:
        for c in range(clusters):
            sb.add_cluster(group_id=group, name=f"c{c}")
    for i in range(users):
        sb.add_user(org_id=world.org_id, username=f"u{i:05d}@example.com",
                    project_roles={groups[i % len(groups)]: ["GROUP_READ_ONLY"]} if groups else {})
    return groups


def discover(world: World, gateway: AtlasGateway | None = None) -> Inventory:
    world.sandbox.calls.clear()
    return (gateway or world.gateway()).discover(organization_id=world.org_id, types=TYPES)


def calls(world: World) -> Counter[str]:
    return Counter(c.operation_id for c in world.answered() if c.status == 200)


def pages(world: World, operation_id: str) -> list[tuple[int, int]]:
    """(pageNum, status) of each request of the operation, in the order the sandbox received them."""
    return [(int(c.query.get("pageNum", "1")), c.status) for c in world.answered(operation_id)]


def test_a_large_org_is_read_in_the_minimum_of_calls(world: World) -> None:
    groups = seed(world, projects=1201, users=1001, clusters=2)

    inventory = discover(world)

    assert [p.id for p in inventory.projects] == groups
    assert all([c.name for c in p.clusters] == ["c0", "c1"] for p in inventory.projects)
    assert {t.value for p in inventory.projects for t in p.tags} == {f"team-{i}" for i in range(7)}
    assert len(inventory.users) == 1001
    pages_of = math.ceil(1201 / PAGE)
    assert calls(world) == {"getOrg": 1, "getOrgGroups": pages_of, "listClusterDetails": pages_of,
                            "listOrgUsers": math.ceil(1001 / PAGE)}
    assert sum(calls(world).values()) == 1 + 3 * 2 + 3


def test_a_multi_cloud_cluster_left_out_of_the_listing_is_read_per_project(world: World) -> None:
    groups = seed(world, projects=3)
    world.sandbox.add_cluster(group_id=groups[1], name="everywhere", state="IDLE", multi_cloud=True)

    inventory = discover(world)

    clusters = {p.id: {(c.name, c.state) for c in p.clusters} for p in inventory.projects}
    # the project the listing fell short for is read whole, stateName and all; the others are not read again
    assert clusters[groups[1]] == {("c0", "IDLE"), ("everywhere", "IDLE")}
    assert clusters[groups[0]] == clusters[groups[2]] == {("c0", "available")}
    assert [c.path.split("/")[-2] for c in world.answered("listGroupClusters")] == [groups[1]]
    assert sum(calls(world).values()) == 1 + 1 + 1 + 1 + 1


def test_projects_of_another_org_the_credential_sees_are_left_out(world: World) -> None:
    ours = seed(world, projects=2)
    sb = world.sandbox
    globex = sb.add_org(name="Globex")
    theirs = [sb.add_project(org_id=globex, name=f"globex-{i}") for i in range(600)]
    sb.add_cluster(group_id=theirs[0], name="globex-main")
    sb.add_org_reader(org_id=globex, identity=world.api_key.public_key)

    inventory = discover(world)

    assert [p.id for p in inventory.projects] == ours
    assert [c.name for p in inventory.projects for c in p.clusters] == ["c0", "c0"]
    # 602 visible projects: two pages of the cross-org listing; nothing is asked of Globex itself
    assert calls(world)["listClusterDetails"] == 2
    assert not any(globex in c.path or theirs[0] in c.path for c in world.answered())


@pytest.mark.parametrize(("status", "retry_after"), [(429, 3), (503, None)])
def test_a_page_failing_mid_way_is_retried_alone(world: World, status: int, retry_after: int | None) -> None:
    groups = seed(world, projects=1201)
    world.sandbox.faults.fail_next(status=status, retry_after=retry_after, operation_id="listClusterDetails",
                                   page=2)

    inventory = discover(world)

    assert [len(p.clusters) for p in inventory.projects] == [1] * len(groups)
    assert sorted(pages(world, "listClusterDetails")) == [(1, 200), (2, 200), (2, status), (3, 200)]
    if retry_after is not None:
        assert retry_after in world.sleeps.waits  # as long as Atlas said


def test_a_page_failing_for_good_fails_the_discovery(world: World) -> None:
    seed(world, projects=1201)
    world.sandbox.faults.fail_next(status=503, count=10, operation_id="listClusterDetails", page=2)
    with pytest.raises(GatewayUnreachable, match="listClusterDetails"):
        discover(world)
    assert [p for p, _ in pages(world, "listClusterDetails")].count(1) == 1


def test_a_listing_that_fails_stops_the_others(world: World) -> None:
    seed(world, projects=2, users=10_001)  # 21 pages of users: at least four rounds of 50 ms, read 8 ahead
    world.sandbox.faults.latency = 0.05
    world.sandbox.faults.fail_next(status=403, operation_id="listClusterDetails")
    with pytest.raises(GatewayUnauthorized, match="listClusterDetails"):
        discover(world)
    assert len(world.answered("listOrgUsers")) < 21


class _DeletedAfterListing(SandboxTransport):
    """Someone deletes a project in Atlas right after getOrgGroups listed it."""

    def __init__(self, world: World, group_id: str) -> None:
        super().__init__(world.sandbox)
        self._group_id = group_id

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.url.path.endswith("/groups") and response.status_code == 200:
            self.sandbox.remove_project(group_id=self._group_id)
        return response


def test_a_project_deleted_between_the_listings_is_left_out(world: World) -> None:
    groups = seed(world, projects=3)
    world.sandbox.add_cluster(group_id=groups[1], name="everywhere", multi_cloud=True)  # so it is read again
    gateway = AtlasGateway(world.client(transport=_DeletedAfterListing(world, groups[1])))

    inventory = discover(world, gateway)

    assert [p.id for p in inventory.projects] == [groups[0], groups[2]]
    [gone] = world.answered("listGroupClusters")
    assert gone.status == 404


def test_an_empty_org_is_read_in_four_calls(world: World) -> None:
    sb = world.sandbox
    globex = sb.add_org(name="Globex")
    sb.add_cluster(group_id=sb.add_project(org_id=globex, name="theirs"), name="c0")
    sb.add_org_reader(org_id=globex, identity=world.api_key.public_key)

    inventory = discover(world)

    assert (inventory.organization_name, inventory.projects, inventory.users) == ("Acme", (), ())
    assert calls(world) == {"getOrg": 1, "getOrgGroups": 1, "listClusterDetails": 1, "listOrgUsers": 1}


def test_a_failed_sync_leaves_the_stored_inventory_whole(world: World) -> None:
    groups = seed(world, projects=1201, users=20)
    clock = ManualClock()
    store = MemoryStore(clock=clock)
    with store.unit_of_work() as uow:
        uow.integrations.upsert(integration(organization_id=world.org_id))
    gateway = world.gateway()
    sync = SyncService(store=store, gateways=lambda name: gateway, clock=clock)
    sync.run("prod")
    before = stored(store)
    assert len(before[ResourceKind.PROJECT]) == 1201 and len(before[ResourceKind.CLUSTER]) == 1201
    # Atlas changes, and the next sync fails on the last page of the cluster listing
    for group in groups[:600]:
        world.sandbox.remove_project(group_id=group)
    world.sandbox.add_project(org_id=world.org_id, name="new-one")
    world.sandbox.faults.fail_next(status=503, count=10, operation_id="listClusterDetails", page=2)

    with pytest.raises(GatewayUnreachable):
        sync.run("prod")

    assert stored(store) == before
    with store.unit_of_work() as uow:
        assert "listClusterDetails" in (uow.integrations.status("prod")["last_sync_error"] or "")
    world.sandbox.faults.clear()
    sync.run("prod")  # Atlas answers again: now it changes
    assert len(stored(store)[ResourceKind.PROJECT]) == 602


def stored(store: MemoryStore) -> dict[ResourceKind, list[tuple[str, str]]]:
    with store.unit_of_work() as uow:
        return {kind: [(r.atlas_id, r.name) for r in uow.inventory.resources(integration="prod", kind=kind,
                                                                               limit=100_000)]
                for kind in (ResourceKind.ORGANIZATION, ResourceKind.PROJECT, ResourceKind.CLUSTER)}

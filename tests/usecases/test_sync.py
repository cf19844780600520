"""Sync: discover an integration's organization and store it as the inventory, saying what changed; a failure is
recorded and changes nothing."""

from __future__ import annotations

import pytest

from access.errors import GatewayError, NotFound, RequestRefused
from access.model import ResourceKind
from tests.fakes.faults import KINDS
from tests.usecases.world import ORG_ID, PAYMENTS, World

NEW = "6a0000000000000000000003"


def names(world: World, kind: ResourceKind | None = None) -> list[str]:
    with world.store.unit_of_work() as uow:
        return [r.name for r in uow.inventory.resources(integration="prod", kind=kind)]


def test_a_sync_stores_what_atlas_has_and_records_it(world: World) -> None:
    assert names(world) == ["Acme", "payments", "search", "payments/payments-main"]
    with world.store.unit_of_work() as uow:
        status = uow.integrations.status("prod")
        users = [u.username for u in uow.inventory.users(integration="prod")]
    assert status["last_sync_at"] == world.clock.now() and status["last_sync_error"] is None
    assert users == ["ann@example.com", "dan@example.com"]
    assert world.audit("synced")[0].detail["counts"] == {"organizations": 1, "projects": 2, "clusters": 1, "users": 2}


def test_a_sync_says_what_changed(world: World) -> None:
    world.atlas.add_project(ORG_ID, "orders", clusters=("orders-main",), group_id=NEW)
    del world.atlas.projects[PAYMENTS]
    world.atlas.add_user(ORG_ID, "eve@example.com")
    changes = world.sync.run("prod").changes
    assert (changes.added_projects, changes.removed_projects) == (("orders",), ("payments",))
    assert (changes.added_clusters, changes.removed_clusters) == (("orders/orders-main",), ("payments/payments-main",))
    assert changes.added_users == ("eve@example.com",)
    assert names(world, ResourceKind.PROJECT) == ["orders", "search"]


def test_a_sync_that_finds_nothing_new_changes_nothing(world: World) -> None:
    assert world.sync.run("prod").changes.empty


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_failed_sync_is_recorded_and_keeps_the_inventory(world: World, kind: str) -> None:
    del world.atlas.projects[PAYMENTS]
    world.gateway.faults.fail_next(kind, method="discover")
    with pytest.raises(GatewayError):
        world.sync.run("prod", actor="U0DAN")
    assert "payments" in names(world)
    with world.store.unit_of_work() as uow:
        assert uow.integrations.status("prod")["last_sync_error"]
    [failed] = world.audit("sync_failed")
    assert failed.actor == "U0DAN" and failed.detail["error"]
    world.sync.run("prod")
    with world.store.unit_of_work() as uow:
        assert uow.integrations.status("prod")["last_sync_error"] is None


def test_an_organization_emptied_in_atlas_keeps_just_the_org_and_says_what_went(world: World) -> None:
    world.atlas.projects.clear()
    world.atlas.members[ORG_ID].clear()
    changes = world.sync.run("prod").changes
    assert changes.removed_projects == ("payments", "search")
    assert changes.removed_clusters == ("payments/payments-main",)
    assert changes.removed_users == ("ann@example.com", "dan@example.com")
    assert changes.counts == {"organizations": 1, "projects": 0, "clusters": 0, "users": 0}
    assert names(world) == ["Acme"]


def test_an_unknown_integration(world: World) -> None:
    with pytest.raises(NotFound):
        world.sync.run("ghost")


def test_progress_is_heard_and_one_sync_at_a_time(world: World) -> None:
    heard: list[dict[str, int]] = []
    refused: list[Exception] = []

    def progress(kind: str, counts: dict[str, int]) -> None:
        heard.append(counts)
        assert world.sync.running("prod")
        try:
            world.sync.run("prod")
        except RequestRefused as error:
            refused.append(error)

    world.sync.run("prod", progress=progress)
    assert heard[-1] == {"organizations": 1, "projects": 2, "clusters": 1, "users": 2}
    assert refused and "already running" in str(refused[0]) and not world.sync.running("prod")


def test_only_enabled_integrations_are_synced_by_the_timers(world: World) -> None:
    assert world.sync.integrations() == ["prod"]
    world.set_integration(enabled=False)
    assert world.sync.integrations() == []

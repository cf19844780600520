"""The inventory: applying discoveries (added, vanished, back again, idempotent), the queries, and bulk speed."""

from __future__ import annotations

import time

import pytest

from access.entities import InventoryResource, InventoryUser, SyncChanges
from access.model import MembershipStatus, ResourceKind
from storage.store import SqlStore
from tests.storage import builders as b

P1, P2, P3 = (b.project(n, clusters=2) for n in (1, 2, 3))


def apply(store: SqlStore, inventory: object, *, integration: str = "prod") -> SyncChanges:
    with store.unit_of_work() as uow:
        return uow.inventory.apply(integration=integration, inventory=inventory, now=b.T0)  # type: ignore[arg-type]


def test_a_first_sync_adds_everything_and_the_same_sync_again_changes_nothing(store: SqlStore) -> None:
    # given a discovery of two projects with two clusters each and two users
    found = b.inventory((P1, P2), (b.user(1, projects=(P1.id,)), b.user(2)))
    # when it is applied twice
    first = apply(store, found)
    second = apply(store, found)
    # then the first reports every addition and the second nothing
    assert first == SyncChanges(
        added_projects=("project-1", "project-2"),
        added_clusters=("project-1/cluster-0", "project-1/cluster-1", "project-2/cluster-0", "project-2/cluster-1"),
        added_users=("user1@example.com", "user2@example.com"),
        counts={"organizations": 1, "projects": 2, "clusters": 4, "users": 2},
    )
    assert second.empty and second.counts == first.counts


def test_what_vanished_is_marked_absent_and_comes_back_as_added(store: SqlStore) -> None:
    apply(store, b.inventory((P1, P2, P3), (b.user(1), b.user(2))))
    # when project 2 and user 2 disappear, and project 3 loses a cluster
    fewer = b.inventory((P1, b.project(3, clusters=1)), (b.user(1),))
    changes = apply(store, fewer)
    assert changes.removed_projects == ("project-2",) and changes.added_projects == ()
    assert changes.removed_clusters == ("project-2/cluster-0", "project-2/cluster-1", "project-3/cluster-1")
    assert changes.removed_users == ("user2@example.com",)
    # then they are no longer listed but still readable as absent
    with store.unit_of_work() as uow:
        names = [r.name for r in uow.inventory.resources(kind=ResourceKind.PROJECT)]
        gone = uow.inventory.resource(integration="prod", atlas_id=P2.id)
        assert uow.inventory.clusters(integration="prod", project_id=P2.id) == []
        assert [u.username for u in uow.inventory.users(integration="prod")] == ["user1@example.com"]
    assert names == ["project-1", "project-3"]
    assert gone is not None and gone.present is False
    # and when they reappear they are reported as added again
    back = apply(store, b.inventory((P1, P2, P3), (b.user(1), b.user(2))))
    assert back.added_projects == ("project-2",) and back.added_users == ("user2@example.com",)
    assert back.added_clusters == ("project-2/cluster-0", "project-2/cluster-1", "project-3/cluster-1")
    assert apply(store, b.inventory((P1, P2, P3), (b.user(1), b.user(2)))).empty


def test_renames_tags_states_and_roles_are_updated_without_counting_as_changes(store: SqlStore) -> None:
    apply(store, b.inventory((P1,), (b.user(1),)))
    renamed = b.project(1, clusters=2, name="payments", owner="payments-oncall")
    changed_user = b.user(1, projects=(P1.id,), status=MembershipStatus.PENDING)
    changes = apply(store, b.inventory((renamed,), (changed_user,), org_name="Acme Corp"))
    assert changes.empty
    with store.unit_of_work() as uow:
        resource = uow.inventory.resource(integration="prod", atlas_id=P1.id)
        [stored_user] = uow.inventory.users(integration="prod")
    assert resource == InventoryResource(
        integration="prod", kind=ResourceKind.PROJECT, atlas_id=P1.id, organization_id=b.ORG_ID,
        organization_name="Acme Corp", name="payments", tags={"owner": "payments-oncall"},
    )
    assert stored_user == InventoryUser(
        integration="prod", atlas_id=changed_user.id, username="user1@example.com", status=MembershipStatus.PENDING,
        org_roles=("ORG_MEMBER",), project_roles={P1.id: ("GROUP_DATA_ACCESS_READ_ONLY", "GROUP_READ_ONLY")},
    )


def test_integrations_are_kept_apart(store: SqlStore) -> None:
    apply(store, b.inventory((P1,)), integration="prod")
    changes = apply(store, b.inventory((P2,)), integration="dev")
    assert changes.removed_projects == () and changes.added_projects == ("project-2",)
    with store.unit_of_work() as uow:
        assert [r.name for r in uow.inventory.resources(integration="prod")] == [
            "Acme", "project-1", "project-1/cluster-0", "project-1/cluster-1"]
        assert uow.inventory.counts(integration="dev") == {"organizations": 1, "projects": 1, "clusters": 2,
                                                           "users": 0}
        assert len(uow.inventory.resources()) == 8  # 2 organizations, 2 projects, 4 clusters


def test_resources_match_names_case_insensitively_with_kind_and_limit(store: SqlStore) -> None:
    projects = (b.project(1, name="Payments-API"), b.project(2, name="payments_db"), b.project(3, name="search"),
                b.project(4, name="100%-uptime"))
    apply(store, b.inventory(projects, org_name="Acme Payments"))
    with store.unit_of_work() as uow:
        def names(**query: object) -> list[str]:
            return [r.name for r in uow.inventory.resources(**query)]  # type: ignore[arg-type]

        assert names(query="PAY") == ["Acme Payments", "Payments-API", "payments_db", "Payments-API/cluster-0",
                                      "payments_db/cluster-0"]
        assert names(query="pay", kind=ResourceKind.PROJECT) == ["Payments-API", "payments_db"]
        assert names(query="pay", limit=2) == ["Acme Payments", "Payments-API"]
        assert names(query="s_d") == ["payments_db", "payments_db/cluster-0"]  # `_` and `%` are matched literally
        assert names(query="%") == ["100%-uptime", "100%-uptime/cluster-0"]
        org = uow.inventory.resource(integration="prod", atlas_id=b.ORG_ID)
        assert uow.inventory.resource(integration="prod", atlas_id="nope") is None
    assert org == InventoryResource(integration="prod", kind=ResourceKind.ORGANIZATION, atlas_id=b.ORG_ID,
                                    organization_id=b.ORG_ID, organization_name="Acme Payments", name="Acme Payments")


def test_clusters_of_a_project_by_name_with_state(store: SqlStore) -> None:
    apply(store, b.inventory((P1,)))
    with store.unit_of_work() as uow:
        assert uow.inventory.clusters(integration="prod", project_id=P1.id) == [("cluster-0", "IDLE"),
                                                                                ("cluster-1", "IDLE")]


def test_a_large_organization_syncs_in_bulk_within_seconds(store: SqlStore) -> None:
    # given 5,000 projects with 10,000 clusters and 20,000 users
    projects = tuple(b.project(n, clusters=2) for n in range(5000))
    users = tuple(b.user(n, projects=(projects[n % 5000].id,)) for n in range(20000))
    large = b.inventory(projects, users)
    # when it is applied for the first time, then again unchanged, then with a few changes
    timings = []
    for found in (large, large, b.inventory(projects[10:] + (b.project(9999),), users[:-5])):
        started = time.perf_counter()
        changes = apply(store, found)
        timings.append(time.perf_counter() - started)
    # then each takes a few seconds at most and the last reports just its changes
    assert len(changes.removed_projects) == 10 and changes.added_projects == ("project-9999",)
    assert len(changes.removed_clusters) == 20 and changes.added_clusters == ("project-9999/cluster-0",)
    assert len(changes.removed_users) == 5
    assert changes.counts == {"organizations": 1, "projects": 4991, "clusters": 9981, "users": 19995}
    print(f"inventory apply seconds (first, unchanged, changed): {timings}")
    assert max(timings) < 10, timings


def test_changes_in_any_batch_are_applied_and_a_failed_apply_leaves_the_last_inventory(store: SqlStore) -> None:
    # given 12,001 users: three batches of 5,000 when applied
    users = [b.user(n) for n in range(12_001)]
    apply(store, b.inventory((P1,), tuple(users)))
    # when one in the second batch gains a project role, one in the third is gone and one is new
    changed = list(users)
    changed[7000] = b.user(7000, projects=(P1.id,))
    del changed[11_000]
    changes = apply(store, b.inventory((P1,), (*changed, b.user(20_000))))
    # then each is stored
    assert changes.removed_users == ("user11000@example.com",) and changes.added_users == ("user20000@example.com",)
    with store.unit_of_work() as uow:
        stored = {u.username: u for u in uow.inventory.users(integration="prod")}
    assert len(stored) == 12_001 and "user11000@example.com" not in stored
    assert set(stored["user7000@example.com"].project_roles) == {P1.id}
    # and an apply that fails after its first batches were written leaves none of them
    broken = b.inventory((P1,), (b.user(30_000), *changed[:6000], b.user(11_000)))
    object.__setattr__(broken.users[-1], "project_roles", None)  # breaks in the second batch, after the first
    with pytest.raises(AttributeError):
        apply(store, broken)
    with store.unit_of_work() as uow:
        after = {u.username for u in uow.inventory.users(integration="prod")}
    assert after == set(stored)

"""The Store contract, part two: the audit log, integrations and flows, and the inventory, run on the MemoryStore
and on SqlStore (SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, timedelta
from typing import Any

import pytest
from pydantic import SecretStr

from access.config import IntegrationSpec
from access.entities import AuditEvent, InventoryResource
from access.model import MembershipStatus, ResourceKind
from tests.contracts.worlds import StoreWorld
from tests.storage import builders as b

T0 = b.T0


def audit(world: StoreWorld, **query: Any) -> list[AuditEvent]:
    with world.store.unit_of_work() as uow:
        return list(uow.audit.query(**query))


# --- audit ---------------------------------------------------------------------------------------------------


def test_audit_events_come_back_oldest_first_with_ids(store_world: StoreWorld) -> None:
    with store_world.store.unit_of_work() as uow:
        uow.audit.add(AuditEvent(at=T0 + timedelta(seconds=2), actor="U1", action="second"))
        uow.audit.add(AuditEvent(at=T0, actor="U1", action="first", integration="prod", request_id=3, grant_id=4))
        uow.audit.add(AuditEvent(at=T0 + timedelta(seconds=2), actor="U1", action="third"))  # a tie: by id
    events = audit(store_world)
    assert [e.action for e in events] == ["first", "second", "third"]
    assert all(e.id is not None for e in events) and len({e.id for e in events}) == 3
    assert (events[0].integration, events[0].request_id, events[0].grant_id) == ("prod", 3, 4)


def test_audit_events_added_together_come_back_in_order_scrubbed(store_world: StoreWorld) -> None:
    with store_world.store.unit_of_work() as uow:
        uow.audit.add_many([AuditEvent(at=T0, actor="system", action="one", detail={"token": "xoxb-1", "n": 1}),
                            AuditEvent(at=T0, actor="system", action="two", grant_id=7)])
        uow.audit.add_many([])
    with store_world.store.unit_of_work() as uow:
        events = list(uow.audit.query())
    assert [(e.action, e.grant_id) for e in events] == [("one", None), ("two", 7)]
    assert (events[0].id or 0) < (events[1].id or 0) and events[0].detail == {"token": "<redacted>", "n": 1}


def test_audit_query_filters_by_time_and_integration_and_limits(store_world: StoreWorld) -> None:
    with store_world.store.unit_of_work() as uow:
        for minute, integration in ((0, "prod"), (1, "staging"), (2, "prod"), (3, None)):
            uow.audit.add(AuditEvent(at=T0 + timedelta(minutes=minute), actor="system", action=f"m{minute}",
                                     integration=integration))
    assert [e.action for e in audit(store_world, since=T0 + timedelta(minutes=1))] == ["m1", "m2", "m3"]
    assert [e.action for e in audit(store_world, integration="prod")] == ["m0", "m2"]
    assert [e.action for e in audit(store_world, limit=2)] == ["m0", "m1"]


def test_audit_detail_is_json_and_secrets_never_stored(store_world: StoreWorld) -> None:
    detail = {"roles": ("A", "B"), "when": T0, "nested": {"client_secret": "s3cr3t", "ok": 1},
              "password": "hunter22", "secret_value": SecretStr("x"), "kind": ResourceKind.PROJECT, "n": None}
    with store_world.store.unit_of_work() as uow:
        uow.audit.add(AuditEvent(at=T0, actor="system", action="a", detail=detail))
    stored = audit(store_world)[0].detail
    assert stored == {"roles": ["A", "B"], "when": T0.isoformat(), "nested": {"client_secret": "<redacted>", "ok": 1},
                      "password": "<redacted>", "secret_value": "<redacted>", "kind": "project", "n": None}


def test_audit_times_come_back_in_utc(store_world: StoreWorld) -> None:
    with store_world.store.unit_of_work() as uow:
        uow.audit.add(AuditEvent(at=T0.astimezone(), actor="system", action="a"))
    assert audit(store_world)[0].at == T0 and audit(store_world)[0].at.tzinfo is UTC


# --- integrations and flows --------------------------------------------------------------------------------------

OWNER = {"tag_key": "owner", "attribute": "slack_usergroup"}


@pytest.mark.parametrize("spec", [
    b.integration(),
    b.integration(credentials={"type": "api_key", "public_key_env": "PUB", "private_key_env": "PRIV"}),
    b.integration(credentials={"type": "service_account", "client_id": "mdb_sa_id_1", "client_secret": "sa-s3cr3t"}),
    b.integration(credential_rotation_days=30, custom_access_details="Sign in with SSO.", resource_owner=OWNER,
                  extra_project_roles=["GROUP_NEW_ROLE"], remove_unmanaged_roles=True, enabled=False,
                  discovery=["projects"]),
], ids=["api key", "from the environment", "service account", "every field"])
def test_an_integration_comes_back_equal(store_world: StoreWorld, spec: IntegrationSpec) -> None:
    with store_world.store.unit_of_work() as uow:
        assert uow.integrations.upsert(spec) is True
    with store_world.store.unit_of_work() as uow:
        assert uow.integrations.get(spec.name) == spec
        assert uow.integrations.get("nope") is None
    assert store_world.store.integration(spec.name) == spec


def test_integrations_upsert_by_name_and_list_by_name(store_world: StoreWorld) -> None:
    with store_world.store.unit_of_work() as uow:
        uow.integrations.upsert(b.integration("staging"))
        uow.integrations.upsert(b.integration("prod", enabled=False))
        assert uow.integrations.upsert(b.integration("prod", approval_channel="C0OTHER", enabled=False)) is False
    with store_world.store.unit_of_work() as uow:
        assert [s.name for s in uow.integrations.list()] == ["prod", "staging"]
        assert uow.integrations.names() == ["prod", "staging"]
        assert uow.integrations.names(enabled_only=True) == ["staging"]
        assert (uow.integrations.get("prod") or b.integration()).approval_channel == "C0OTHER"


def test_keep_secrets_keeps_the_stored_secret_when_none_is_given(store_world: StoreWorld) -> None:
    stored = b.integration()
    blank = IntegrationSpec.model_construct(**{**dict(stored), "credentials": stored.credentials.model_construct(
        type="api_key", public_key="pubkey02", private_key=None, public_key_env=None, private_key_env=None)})
    with store_world.store.unit_of_work() as uow:
        uow.integrations.upsert(stored)
    with store_world.store.unit_of_work() as uow:
        uow.integrations.upsert(blank, keep_secrets=True)
    spec = store_world.store.integration("prod")
    assert spec is not None and spec.credentials.model_dump() == {
        "type": "api_key", "public_key": "pubkey02", "private_key": SecretStr("PRIVATE-8c1f-secret"),
        "public_key_env": None, "private_key_env": None}
    with pytest.raises(ValueError, match="private_key is required"), store_world.store.unit_of_work() as uow:
        uow.integrations.upsert(blank.model_copy(update={"name": "fresh"}), keep_secrets=True)


def test_integration_status_fields_and_inventory_counts(store_world: StoreWorld) -> None:
    with store_world.store.unit_of_work() as uow:
        uow.integrations.upsert(b.integration())
        uow.inventory.apply(integration="prod", inventory=b.inventory((b.project(1, clusters=2),), (b.user(1),)),
                            now=T0)
    store_world.clock.advance(60)
    with store_world.store.unit_of_work() as uow:
        uow.integrations.set_status("prod", last_sync_at=T0, last_sync_error="boom", pending_retire_id="k1")
        uow.integrations.set_status("ghost", last_sync_error="nobody")  # no such integration: nothing happens
        with pytest.raises(ValueError, match="not status fields"):
            uow.integrations.set_status("prod", enabled=False)
    with store_world.store.unit_of_work() as uow:
        status = uow.integrations.status("prod")
        assert uow.integrations.status("ghost") == {}
    assert status == {"last_sync_at": T0, "last_sync_error": "boom", "last_rotation_at": None,
                      "last_rotation_error": None, "pending_retire_id": "k1", "created_at": T0, "updated_at": T0,
                      "counts": {"organizations": 1, "projects": 1, "clusters": 2, "users": 1}}


def test_a_config_upsert_keeps_the_status_and_the_creation_time(store_world: StoreWorld) -> None:
    with store_world.store.unit_of_work() as uow:
        uow.integrations.upsert(b.integration())
        uow.integrations.set_status("prod", last_rotation_at=T0)
    store_world.clock.advance(3600)
    with store_world.store.unit_of_work() as uow:
        uow.integrations.upsert(b.integration(approval_channel="C0NEW"))
        status = uow.integrations.status("prod")
    assert (status["created_at"], status["updated_at"], status["last_rotation_at"]) == (
        T0, T0 + timedelta(hours=1), T0)


@pytest.mark.parametrize("flow", [
    b.flow(),
    b.flow(requesters=["@payments-eng", "U0ANN", "ann@example.com"], approval="auto", justification="optional",
           approvals_required=2, max_duration="1h30m", pending={"remind_after": "30m", "escalate_after": "2h",
                                                                "expire_after": "1d"}),
    b.flow(break_glass=True, resources={"types": ["project"]}),
    b.flow(resources={"types": ["cluster"], "names": ["payments/*"]}, roles=["read@orders", "readAnyDatabase"],
           max_duration="7d", enabled=False),
], ids=["plain", "every field", "break-glass", "clusters"])
def test_a_flow_comes_back_equal(store_world: StoreWorld, flow: Any) -> None:
    with store_world.store.unit_of_work() as uow:
        assert uow.flows.upsert(flow) is True
    with store_world.store.unit_of_work() as uow:
        assert uow.flows.get(flow.name) == flow and uow.flows.get("nope") is None


def test_flows_upsert_by_name_and_list_by_name(store_world: StoreWorld) -> None:
    with store_world.store.unit_of_work() as uow:
        uow.flows.upsert(b.flow("zeta"))
        uow.flows.upsert(b.flow("alpha", enabled=False))
        assert uow.flows.upsert(b.flow("zeta", max_duration="2h")) is False
    with store_world.store.unit_of_work() as uow:
        assert [f.name for f in uow.flows.list()] == ["alpha", "zeta"]
        assert [f.name for f in uow.flows.list(enabled_only=True)] == ["zeta"]
        assert (uow.flows.get("zeta") or b.flow()).max_duration == timedelta(hours=2)


def test_a_flow_row_that_no_longer_reads_is_left_out_of_lists_and_refused_when_read(store_world: StoreWorld) -> None:
    with store_world.store.unit_of_work() as uow:
        uow.flows.upsert(b.flow("a-flow"))
        uow.flows.upsert(b.flow("b-flow"))
    store_world.damage_flow("a-flow", approval="sometimes")
    with store_world.store.unit_of_work() as uow:
        assert [f.name for f in uow.flows.list()] == ["b-flow"]
        assert [f.name for f in uow.flows.list(enabled_only=True)] == ["b-flow"]
        with pytest.raises(ValueError, match="approval"):
            uow.flows.get("a-flow")


# --- inventory -------------------------------------------------------------------------------------------------

P1 = b.project(1, clusters=2, name="payments", owner="payments-oncall", env="prod")
P2 = b.project(2, clusters=0, name="search")
U1 = b.user(1, projects=(P1.id,))
U2 = b.user(2, status=MembershipStatus.PENDING)


def apply(world: StoreWorld, *projects: Any, users: tuple[Any, ...] = (), integration: str = "prod",
          org_name: str = "Acme") -> Any:
    with world.store.unit_of_work() as uow:
        return uow.inventory.apply(integration=integration, inventory=b.inventory(tuple(projects), users, org_name),
                                   now=world.clock.now())


def resources(world: StoreWorld, **query: Any) -> list[InventoryResource]:
    with world.store.unit_of_work() as uow:
        return uow.inventory.resources(**query)


def test_a_first_sync_adds_everything_and_the_same_sync_again_changes_nothing(store_world: StoreWorld) -> None:
    first = apply(store_world, P1, P2, users=(U1, U2))
    assert (first.added_projects, first.added_clusters, first.added_users) == (
        ("payments", "search"), ("payments/cluster-0", "payments/cluster-1"),
        ("user1@example.com", "user2@example.com"))
    assert first.counts == {"organizations": 1, "projects": 2, "clusters": 2, "users": 2}
    again = apply(store_world, P1, P2, users=(U1, U2))
    assert again.empty and again.counts == first.counts


def test_what_vanished_is_marked_absent_and_comes_back_as_added(store_world: StoreWorld) -> None:
    apply(store_world, P1, P2, users=(U1, U2))
    gone = apply(store_world, P2, users=(U2,))
    assert (gone.removed_projects, gone.removed_clusters, gone.removed_users) == (
        ("payments",), ("payments/cluster-0", "payments/cluster-1"), ("user1@example.com",))
    with store_world.store.unit_of_work() as uow:
        payments = uow.inventory.resource(integration="prod", atlas_id=P1.id)
        cluster = uow.inventory.resource(integration="prod", atlas_id=f"{P1.id}/cluster-0")
        assert uow.inventory.counts(integration="prod") == {"organizations": 1, "projects": 1, "clusters": 0,
                                                            "users": 1}
    assert payments is not None and not payments.present and cluster is not None and not cluster.present
    back = apply(store_world, P1, P2, users=(U1, U2))
    assert back.added_projects == ("payments",) and back.added_users == ("user1@example.com",)


def test_renames_tags_states_and_roles_are_updated_without_counting_as_changes(store_world: StoreWorld) -> None:
    apply(store_world, P1, users=(U1,))
    renamed = b.project(1, clusters=1, name="payments-v2", owner="team-b")
    changed_user = b.user(1, projects=())
    changes = apply(store_world, renamed, users=(changed_user,), org_name="Acme Inc")
    assert changes.added_projects == () and changes.removed_clusters == ("payments-v2/cluster-1",)
    with store_world.store.unit_of_work() as uow:
        project = uow.inventory.resource(integration="prod", atlas_id=P1.id)
        users = uow.inventory.users(integration="prod")
    assert project is not None and (project.name, project.tags, project.organization_name) == (
        "payments-v2", {"owner": "team-b"}, "Acme Inc")
    assert users[0].project_roles == {}


def test_resources_are_orgs_then_projects_then_clusters_by_name(store_world: StoreWorld) -> None:
    apply(store_world, b.project(3, clusters=1, name="zeta"), P2, P1)
    found = [(r.kind.value, r.name) for r in resources(store_world)]
    assert found == [("organization", "Acme"), ("project", "payments"), ("project", "search"), ("project", "zeta"),
                     ("cluster", "payments/cluster-0"), ("cluster", "payments/cluster-1"),
                     ("cluster", "zeta/cluster-0")]


@pytest.mark.parametrize(("query", "expected"), [
    ({"query": "PAY"}, ["payments", "payments/cluster-0", "payments/cluster-1"]),
    ({"query": "  cluster-1 "}, ["payments/cluster-1"]),
    ({"query": "%"}, []),  # a LIKE wildcard is a character like any other
    ({"query": "_"}, []),
    ({"kind": ResourceKind.PROJECT}, ["payments", "search"]),
    ({"kind": ResourceKind.CLUSTER, "limit": 1}, ["payments/cluster-0"]),
    ({"limit": 2}, ["Acme", "payments"]),
    ({"integration": "staging"}, ["Staging Org", "search"]),
    ({"integration": "nope"}, []),
], ids=lambda v: str(v))
def test_resources_match_names_case_insensitively_with_kind_integration_and_limit(
        store_world: StoreWorld, query: dict[str, Any], expected: list[str]) -> None:
    apply(store_world, P1, P2)
    apply(store_world, P2, integration="staging", org_name="Staging Org")
    if "integration" not in query:
        query = {"integration": "prod", **query}
    assert [r.name for r in resources(store_world, **query)] == expected


def test_a_resource_by_id_carries_its_org_and_tags(store_world: StoreWorld) -> None:
    apply(store_world, P1)
    with store_world.store.unit_of_work() as uow:
        org = uow.inventory.resource(integration="prod", atlas_id=b.ORG_ID)
        project = uow.inventory.resource(integration="prod", atlas_id=P1.id)
        cluster = uow.inventory.resource(integration="prod", atlas_id=f"{P1.id}/cluster-1")
        assert uow.inventory.resource(integration="prod", atlas_id="nope") is None
        assert uow.inventory.resource(integration="prod", atlas_id=f"{P1.id}/nope") is None
        assert uow.inventory.resource(integration="prod", atlas_id="no/cluster/id") is None
        assert uow.inventory.resource(integration="staging", atlas_id=P1.id) is None
    assert org == InventoryResource(integration="prod", kind=ResourceKind.ORGANIZATION, atlas_id=b.ORG_ID,
                                    organization_id=b.ORG_ID, organization_name="Acme", name="Acme")
    tags = {"owner": "payments-oncall", "env": "prod"}
    assert project == InventoryResource(integration="prod", kind=ResourceKind.PROJECT, atlas_id=P1.id,
                                        organization_id=b.ORG_ID, organization_name="Acme", name="payments", tags=tags)
    assert cluster == InventoryResource(integration="prod", kind=ResourceKind.CLUSTER, atlas_id=f"{P1.id}/cluster-1",
                                        organization_id=b.ORG_ID, organization_name="Acme",
                                        name="payments/cluster-1", tags=tags)


def test_a_resource_by_id_and_kind_is_only_one_of_that_kind(store_world: StoreWorld) -> None:
    apply(store_world, P1)
    cluster_id = f"{P1.id}/cluster-1"
    with store_world.store.unit_of_work() as uow:
        for atlas_id, kind in [(b.ORG_ID, ResourceKind.ORGANIZATION), (P1.id, ResourceKind.PROJECT),
                               (cluster_id, ResourceKind.CLUSTER)]:
            found = uow.inventory.resource(integration="prod", atlas_id=atlas_id)
            assert found is not None and uow.inventory.resource(integration="prod", atlas_id=atlas_id,
                                                                kind=kind) == found
            for other in set(ResourceKind) - {kind}:
                assert uow.inventory.resource(integration="prod", atlas_id=atlas_id, kind=other) is None
        assert uow.inventory.resource(integration="prod", atlas_id="nope", kind=ResourceKind.PROJECT) is None


def test_clusters_of_a_project_by_name_with_state(store_world: StoreWorld) -> None:
    apply(store_world, P1, P2)
    with store_world.store.unit_of_work() as uow:
        assert uow.inventory.clusters(integration="prod", project_id=P1.id) == [
            ("cluster-0", "IDLE"), ("cluster-1", "IDLE")]
        assert uow.inventory.clusters(integration="prod", project_id=P2.id) == []


def test_users_present_by_username_with_their_roles(store_world: StoreWorld) -> None:
    apply(store_world, P1, users=(U2, U1, b.user(3)))
    apply(store_world, P1, users=(U2, U1))
    with store_world.store.unit_of_work() as uow:
        users = uow.inventory.users(integration="prod")
    assert [(u.username, u.status, u.org_roles) for u in users] == [
        ("user1@example.com", MembershipStatus.ACTIVE, ("ORG_MEMBER",)),
        ("user2@example.com", MembershipStatus.PENDING, ("ORG_MEMBER",))]
    assert users[0].project_roles == {P1.id: ("GROUP_DATA_ACCESS_READ_ONLY", "GROUP_READ_ONLY")}
    assert users[0].atlas_id == U1.id and users[0].integration == "prod" and users[0].present


def test_users_keep_the_teams_they_are_in(store_world: StoreWorld) -> None:
    team = "6c" + "0" * 21 + "1"
    apply(store_world, P1, users=(replace(U1, team_ids=frozenset({team})), U2))
    with store_world.store.unit_of_work() as uow:
        users = uow.inventory.users(integration="prod")
    assert [u.team_ids for u in users] == [(team,), ()]
    apply(store_world, P1, users=(U1, U2))  # out of the team again
    with store_world.store.unit_of_work() as uow:
        assert [u.team_ids for u in uow.inventory.users(integration="prod")] == [(), ()]


def test_integrations_inventories_are_kept_apart(store_world: StoreWorld) -> None:
    apply(store_world, P1, users=(U1,))
    apply(store_world, P2, integration="staging")
    with store_world.store.unit_of_work() as uow:
        assert uow.inventory.counts(integration="prod") == {"organizations": 1, "projects": 1, "clusters": 2,
                                                            "users": 1}
        assert uow.inventory.counts(integration="staging") == {"organizations": 1, "projects": 1, "clusters": 0,
                                                               "users": 0}


def test_the_store_reads_the_integration_as_just_stored(store_world: StoreWorld) -> None:
    with store_world.store.unit_of_work() as uow:
        uow.integrations.upsert(b.integration())
    assert store_world.store.integration("prod") == b.integration()
    with store_world.store.unit_of_work() as uow:
        uow.integrations.upsert(b.integration(approval_channel="C0NEW"))
    spec = store_world.store.integration("prod")
    assert spec is not None and spec.approval_channel == "C0NEW" and store_world.store.integration("x") is None


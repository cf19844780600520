"""Storage for issue 5 part B: clusters as requestable resources, cluster grants, break-glass flows and reviews."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Connection, MetaData, Table, text

from access.config import AccessFlowSpec
from access.entities import InventoryResource, SyncChanges
from access.model import ResourceKind
from storage.crypto import SecretBox
from storage.engine import make_engine
from storage.migrations import alembic_config, schema_differences, upgrade
from storage.rows import values
from storage.store import SqlStore
from storage.testing import fresh_postgres_url, sqlite_url
from tests.storage import builders as b
from tests.storage.conftest import require_postgres

PAYMENTS = b.project(1, name="payments", clusters=2, owner="payments-oncall")
SEARCH = b.project(2, name="search", clusters=1)
# 24 + 1 + 64 characters: wider than an Atlas id, as a cluster name may be 64 characters long
LONG_CLUSTER_ID = f"{PAYMENTS.id}/{'c' * 64}"


def apply(store: SqlStore, *projects: object) -> SyncChanges:
    with store.unit_of_work() as uow:
        return uow.inventory.apply(integration="prod", inventory=b.inventory(projects), now=b.T0)  # type: ignore[arg-type]


def test_clusters_are_requestable_resources_with_their_projects_org_and_tags(store: SqlStore) -> None:
    # given a sync of two projects with clusters
    apply(store, PAYMENTS, SEARCH)
    with store.unit_of_work() as uow:
        # when clusters are listed, searched by `project/cluster`, and read by id
        clusters = uow.inventory.resources(kind=ResourceKind.CLUSTER)
        searched = [r.name for r in uow.inventory.resources(query="ments/CLUSTER-1")]
        one = uow.inventory.resource(integration="prod", atlas_id=f"{PAYMENTS.id}/cluster-0")
        unknown = uow.inventory.resource(integration="prod", atlas_id=f"{PAYMENTS.id}/nope")
        malformed = uow.inventory.resource(integration="prod", atlas_id="x/!!")
    # then each carries its project's organization and tags, and is addressed as `<group id>/<cluster>`
    assert [c.name for c in clusters] == ["payments/cluster-0", "payments/cluster-1", "search/cluster-0"]
    assert searched == ["payments/cluster-1"]
    assert one == InventoryResource(
        integration="prod", kind=ResourceKind.CLUSTER, atlas_id=f"{PAYMENTS.id}/cluster-0", organization_id=b.ORG_ID,
        organization_name="Acme", name="payments/cluster-0", tags={"owner": "payments-oncall"},
    )
    assert unknown is None and malformed is None


def test_a_cluster_whose_project_vanished_is_not_requestable(store: SqlStore) -> None:
    apply(store, PAYMENTS, SEARCH)
    apply(store, SEARCH)  # payments is gone
    with store.unit_of_work() as uow:
        assert [c.name for c in uow.inventory.resources(kind=ResourceKind.CLUSTER)] == ["search/cluster-0"]
        gone = uow.inventory.resource(integration="prod", atlas_id=f"{PAYMENTS.id}/cluster-0")
    assert gone is not None and gone.present is False


def test_cluster_grants_keep_the_database_user_and_long_ids(store: SqlStore) -> None:
    # given a request and grant on a cluster with the longest id Atlas allows
    with store.unit_of_work() as uow:
        request = uow.requests.add(b.request(resource_kind=ResourceKind.CLUSTER, resource_id=LONG_CLUSTER_ID,
                                             roles=("read@orders",)))
        grant = uow.grants.add(b.grant(request_id=request.id or 0, resource_kind=ResourceKind.CLUSTER,
                                       resource_id=LONG_CLUSTER_ID, roles=("read@orders",)))
        uow.grants.save(replace(grant, database_user="ada-g1-abcdef"))
    # then both read back whole
    with store.unit_of_work() as uow:
        stored = uow.grants.get(grant.id or 0)
        asked = uow.requests.get(request.id or 0)
    assert stored is not None and stored.database_user == "ada-g1-abcdef" and stored.resource_id == LONG_CLUSTER_ID
    assert asked is not None and asked.resource_id == LONG_CLUSTER_ID


def test_break_glass_flows_and_reviews_are_stored(store: SqlStore) -> None:
    flow = AccessFlowSpec.model_validate({
        "name": "prod-break-glass", "integration": "prod", "resources": {"types": ["project"]},
        "roles": ["GROUP_OWNER"], "max_duration": "1h", "break_glass": True})
    with store.unit_of_work() as uow:
        uow.flows.upsert(flow)
        request = uow.requests.add(b.request(break_glass=True))
        uow.requests.save(replace(request, reviewed_by="U0APPROVER", reviewed_at=b.T0 + timedelta(hours=1)))
    with store.unit_of_work() as uow:
        assert uow.flows.get("prod-break-glass") == flow
        stored = uow.requests.get(request.id or 0)
    assert stored is not None and stored.break_glass and stored.reviewed_by == "U0APPROVER"
    assert stored.reviewed_at == b.T0 + timedelta(hours=1)


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_migration_0002_keeps_existing_rows_and_gives_them_defaults(kind: str, tmp_path: Path) -> None:
    # given a database at 0001 holding a flow, a request and its grant
    if kind == "postgres":
        require_postgres()
        context = fresh_postgres_url()
    else:
        context = nullcontext(sqlite_url(tmp_path, "old.db"))
    with context as url:
        upgrade(url, "0001")
        engine = make_engine(url)
        try:
            store = SqlStore(engine, SecretBox(None))
            with engine.begin() as connection:
                _insert_old_rows(connection)
            # when it is upgraded to the head
            upgrade(url)
            # then the old rows read back with the new fields at their defaults, and the schema is the models'
            with store.unit_of_work() as uow:
                flow = uow.flows.get("f")
                request = uow.requests.pending()[0]
                grant = uow.grants.for_request(request.id or 0)
                uow.grants.add(b.grant(request_id=uow.requests.add(b.request()).id or 0, resource_id=LONG_CLUSTER_ID))
            assert flow is not None and flow.break_glass is False
            assert request.break_glass is False and request.reviewed_by is None and request.resource_name == "payments"
            assert grant is not None and grant.database_user is None and grant.username == "ada@example.com"
            assert schema_differences(engine) == []
            # and it goes back down cleanly once nothing needs the wider ids
            with engine.begin() as connection:
                connection.execute(text('DELETE FROM "grant" WHERE resource_id = :long'), {"long": LONG_CLUSTER_ID})
            with engine.connect() as connection:
                command.downgrade(alembic_config(connection=connection), "0001")
                connection.commit()
        finally:
            engine.dispose()


def _insert_old_rows(connection: Connection) -> None:
    """A flow, a request and its grant, written with the 0001 columns only."""
    def insert(table: str, row: dict[str, Any]) -> int:
        reflected = Table(table, MetaData(), autoload_with=connection)
        result = connection.execute(reflected.insert().values(**row))
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    new = {"id", "break_glass", "reviewed_by", "reviewed_at", "database_user",
           "extends_grant_id", "reminded_at", "escalated_at", "reminder_sent_at",  # 0003's columns too
           "submission_key", "pending_key", "outcome_note", "ended_by",  # and 0006's
           "on_call", "baseline_at",  # and 0009's and 0010's
           "network_entry", "network_added",  # and 0011's
           "ended_as", "end_reason",  # and 0012's
           "requested_by",  # and 0014's
           "approval_steps",  # and 0015's
           "starts_at",  # and 0016's
           "database_auth",  # and 0017's
           "group_id", "group_part", "ends_at", "group_told_at"}  # and 0018's
    insert("access_flow", {
        "name": "f", "integration": "prod", "requesters": ["everyone"], "resources": {"types": ["project"]},
        "roles": ["GROUP_READ_ONLY"], "max_duration_seconds": 3600, "approval": "owners", "approvals_required": 1,
        "justification": "required", "enabled": True, "created_at": b.T0, "updated_at": b.T0})
    request = {k: v for k, v in values(b.request()).items() if k not in new} | {"approvals": [], "version": 1}
    request_id = insert("access_request", request)
    grant = {k: v for k, v in values(b.grant(request_id=request_id)).items() if k not in new} | {"version": 1}
    insert("grant", grant)

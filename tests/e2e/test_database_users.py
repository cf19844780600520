"""Stories: a temporary database user on a cluster — asked for, approved, its password DM'd once, and gone at the
end, whether the bot deletes it or Atlas does by itself at its deleteAfterDate."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from access.config import AccessFlowSpec
from access.model import GrantStatus, utc_iso
from tests.e2e.harness import ANN, BOB, Harness, wait

CLUSTER = "payments/orders-db"
ROLES = ["read@orders", "readWrite@orders", "readAnyDatabase"]


@pytest.fixture
def cluster_world(world: Harness) -> Iterator[Harness]:
    """The e2e world plus two clusters in payments and a flow for them (owners approve, up to 7 days)."""
    group = world.atlas.projects["payments"]
    world.sb.add_cluster(group_id=group, name="orders-db")
    world.sb.add_cluster(group_id=group, name="analytics")
    with world.runtime.store.unit_of_work() as uow:
        uow.flows.upsert(AccessFlowSpec.model_validate({
            "name": "payments-clusters", "integration": "prod", "resources": {"types": ["cluster"],
                                                                             "names": ["payments/*"]},
            "roles": ROLES, "max_duration": "7d"}))
    world.runtime.sync.run("prod")
    yield world


def group_id(world: Harness) -> str:
    return world.atlas.projects["payments"]


def password_dms(world: Harness) -> list[str]:
    return [t for t in world.dm_texts(ANN) if "Password:" in t]


def stored_bytes(world: Harness) -> bytes:
    """Everything the database holds on disk (the SQLite file and its write-ahead log)."""
    path = Path(world.database_url.removeprefix("sqlite:///"))
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


def test_a_cluster_user_is_created_dmd_once_and_deleted_at_expiry(
    cluster_world: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    world = cluster_world
    caplog.set_level(logging.DEBUG)
    # given ann picks the cluster in the modal (it is offered with its project's organization)
    view = world.open_modal(ANN)
    labels = [o["text"]["text"] for o in world.options(ANN, "orders", view)]
    assert labels == ["cluster payments/orders-db · Acme · prod"]
    form = world.pick(ANN, view, CLUSTER)
    offered = [o["value"] for b in form["blocks"] if b.get("block_id") == "roles" for o in b["element"]["options"]]
    assert offered == ROLES
    # when she asks for read on the orders database for 2 hours and bob (a payments owner) approves
    request = world.request(ANN, CLUSTER, ["read@orders"], duration="2h")
    assert "`read@orders` on cluster *payments/orders-db*" in world.message_text(request)
    world.click(BOB, "approve", request)
    grant = world.wait_grant(request, GrantStatus.ACTIVE)

    # then Atlas has a temporary user on that cluster only, which it deletes itself when the 2 hours are up
    [user] = world.sb.database_users(group_id(world))
    assert user["username"] == grant.database_user and grant.database_user.startswith("ann-g")  # type: ignore[union-attr]
    assert user["scopes"] == [{"name": "orders-db", "type": "CLUSTER"}]
    assert user["roles"] == [{"roleName": "read", "databaseName": "orders"}]
    assert user["deleteAfterDate"] == utc_iso(world.clock.now() + timedelta(hours=2)) == utc_iso(grant.expires_at)
    # and ann got the password once, by DM, with the username
    wait(lambda: password_dms(world))
    [dm] = password_dms(world)
    password = re.search(r"Password: `([A-Za-z0-9]{32})`", dm).group(1)  # type: ignore[union-attr]
    assert f"Username: `{grant.database_user}`" in dm
    # and the password is nowhere else: not in the database, the audit trail, the approval message or any log
    assert password.encode() not in stored_bytes(world)
    assert password not in world.message_text(request) and password not in caplog.text
    assert "Sending a request" in caplog.text  # slack_sdk logged its other request bodies: the check means something
    assert all(password not in str(e.detail) for e in world.audit())

    # when the 2 hours are up
    world.expire(timedelta(hours=2))

    # then the bot has deleted the user, the grant is over, and ann is told
    assert world.sb.database_users(group_id(world)) == []
    assert world.get(request.id or 0)[1].status is GrantStatus.REVOKED  # type: ignore[union-attr]
    assert any("is gone" in t and grant.database_user in t for t in world.dm_texts(ANN))  # type: ignore[operator]
    assert [e.action for e in world.audit() if e.request_id == request.id] == [
        "requested", "approved", "granted", "revoked"]
    assert len(password_dms(world)) == 1


def test_a_password_that_cannot_be_delivered_leaves_no_user_behind(cluster_world: Harness) -> None:
    world = cluster_world
    # given Slack will not open a DM with ann for the next three tries (requested, approved, the password)
    world.sim.fail_next("conversations.open", error="user_disabled", count=3)
    request = world.request(ANN, CLUSTER, ["read@orders"], duration="1h")
    world.click(BOB, "approve", request)
    # then the user that was made is deleted again at once, and the owners can see why in the audit trail
    world.wait_grant(request, GrantStatus.REVOKED)
    assert world.sb.database_users(group_id(world)) == []
    actions = [e.action for e in world.audit() if e.request_id == request.id]
    assert actions == ["requested", "approved", "granted", "credentials_undelivered", "revoked"]
    assert password_dms(world) == []

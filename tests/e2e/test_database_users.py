"""Stories: a temporary database user on a cluster — asked for, approved, its sign-in shown once from a "Show
credentials" button (never posted in a chat), and gone at the end, whether the bot deletes it or Atlas does by
itself at its deleteAfterDate; never shown within 10 minutes, it is deleted and the requester told."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from access.config import AccessFlowSpec
from access.model import GrantStatus, utc_iso
from tests.e2e.harness import ANN, BOB, Harness, blocks_text, wait

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


def offers(world: Harness) -> list[dict[str, Any]]:
    """ann's DMs that offer a database user's credentials (with the Show credentials button)."""
    return [m for m in world.sim.dms(ANN) if "Show credentials" in str(m.get("blocks"))]


def show_credentials(world: Harness, user: str, offer: dict[str, Any]) -> dict[str, Any] | str:
    """Press Show credentials: the modal that opened, or the note the person got instead."""
    views, notes = len(world.sim.calls_to("views.open")), len(world.ephemeral_texts(user))
    button = next(e for b in offer["blocks"] if b["type"] == "actions" for e in b["elements"])
    assert world.slack.block_action(user, "show_credentials", button["value"], message=offer).status_code == 200
    wait(lambda: len(world.sim.calls_to("views.open")) > views or len(world.ephemeral_texts(user)) > notes)
    if len(world.sim.calls_to("views.open")) > views:
        view = world.sim.last_view(user_id=user, callback_id="shown_credentials")
        assert view is not None
        return view
    return world.ephemeral_texts(user)[-1]


def stored_bytes(world: Harness) -> bytes:
    """Everything the database holds on disk (the SQLite file and its write-ahead log)."""
    path = Path(world.database_url.removeprefix("sqlite:///"))
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


def test_a_cluster_user_is_created_shown_once_and_deleted_at_expiry(
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
    # and ann got a DM naming the user, with a Show credentials button and no password in it
    [offer] = wait(lambda: offers(world))
    assert grant.database_user in offer["text"] and password_dms(world) == []
    # when bob presses it, he is refused; when ann does, a modal shows her the sign-in, once
    assert "not yours" in show_credentials(world, BOB, offer)  # type: ignore[operator]
    modal = show_credentials(world, ANN, offer)
    assert isinstance(modal, dict)
    shown = blocks_text(modal)
    password = re.search(r"Password:\* `([A-Za-z0-9]{32})`", shown).group(1)  # type: ignore[union-attr]
    assert f"Username:* `{grant.database_user}`" in shown
    assert f"mongodb+srv://{grant.database_user}@orders-db." in shown and "authSource=admin" in shown
    again = show_credentials(world, ANN, offer)
    assert isinstance(again, str) and "shown once only" in again
    # and the password is nowhere else: not in the database, the audit trail, any message or any log
    assert password.encode() not in stored_bytes(world)
    assert password not in world.message_text(request) and password not in caplog.text
    assert all(password not in str(m) for m in world.sim.dms(ANN))
    assert "Sending a request" in caplog.text  # slack_sdk logged its other request bodies: the check means something
    assert all(password not in str(e.detail) for e in world.audit())
    assert world.row_count("held_credentials") == 0
    # and the user stays past the 10 minutes, as it was shown
    world.expire(timedelta(minutes=11))
    assert world.sb.database_users(group_id(world)) != []

    # when the 2 hours are up
    world.expire(timedelta(hours=2) - timedelta(minutes=11))

    # then the bot has deleted the user, the grant is over, and ann is told
    assert world.sb.database_users(group_id(world)) == []
    assert world.get(request.id or 0)[1].status is GrantStatus.REVOKED  # type: ignore[union-attr]
    assert any("is gone" in t and grant.database_user in t for t in world.dm_texts(ANN))  # type: ignore[operator]
    assert [e.action for e in world.audit() if e.request_id == request.id] == [
        "requested", "approved", "granted", "credentials_revealed", "revoked"]


def test_a_password_that_cannot_be_delivered_leaves_no_user_behind(cluster_world: Harness) -> None:
    world = cluster_world
    # given Slack will not open a DM with ann for the next three tries (requested, approved, the offer)
    world.sim.fail_next("conversations.open", error="user_disabled", count=3)
    request = world.request(ANN, CLUSTER, ["read@orders"], duration="1h")
    world.click(BOB, "approve", request)
    # then the user that was made is deleted again at once, and the owners can see why in the audit trail
    world.wait_grant(request, GrantStatus.REVOKED)
    assert world.sb.database_users(group_id(world)) == []
    actions = [e.action for e in world.audit() if e.request_id == request.id]
    assert actions == ["requested", "approved", "granted", "credentials_undelivered", "revoked"]
    assert offers(world) == [] and world.row_count("held_credentials") == 0


def test_credentials_never_shown_within_ten_minutes_delete_the_user_and_ann_is_told(cluster_world: Harness) -> None:
    world = cluster_world
    # given ann's cluster user is made and offered, and she does not press Show credentials
    request = world.request(ANN, CLUSTER, ["read@orders"], duration="2h")
    world.click(BOB, "approve", request)
    grant = world.wait_grant(request, GrantStatus.ACTIVE)
    [offer] = wait(lambda: offers(world))
    world.expire(timedelta(minutes=9))
    assert world.sb.database_users(group_id(world)) != [] and world.row_count("held_credentials") == 1

    # when the 10 minutes are up
    world.expire(timedelta(minutes=1))

    # then the user is deleted, the held sign-in is gone, ann is told why, and a late press shows nothing
    assert world.sb.database_users(group_id(world)) == []
    assert world.get(request.id or 0)[1].status is GrantStatus.REVOKED  # type: ignore[union-attr]
    assert world.row_count("held_credentials") == 0
    assert any("not shown within 10 minutes" in t and grant.database_user in t  # type: ignore[operator]
               for t in world.dm_texts(ANN))
    late = show_credentials(world, ANN, offer)
    assert isinstance(late, str) and "cannot be shown" in late
    assert [e.action for e in world.audit() if e.request_id == request.id] == [
        "requested", "approved", "granted", "credentials_unrevealed", "revoked"]

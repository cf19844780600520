"""Stories: a network path that expires, and database access scoped to one collection. A cluster flow with
`network_access: requester_ip` asks ann for her public IP address in the modal (a private one is refused there),
puts it on the project's IP access list with Atlas's own deleteAfterDate at the grant's expiry, and takes it off
when the grant ends; `read@orders.payments` is a temporary custom role on that namespace, gone with the user."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from access.config import AccessFlowSpec
from access.model import GrantStatus, utc_iso
from tests.e2e.harness import ANN, BOB, JUSTIFICATION, Harness, wait

CLUSTER = "payments/orders-db"


@pytest.fixture
def network_world(world: Harness) -> Iterator[Harness]:
    world.sb.add_cluster(group_id=world.atlas.projects["payments"], name="orders-db")
    with world.runtime.store.unit_of_work() as uow:
        uow.flows.upsert(AccessFlowSpec.model_validate({
            "name": "payments-clusters", "integration": "prod", "resources": {"types": ["cluster"],
                                                                             "names": ["payments/*"]},
            "roles": ["read@orders", "read@orders.payments"], "max_duration": "1d",
            "network_access": "requester_ip"}))
    world.runtime.sync.run("prod")
    yield world


def submit(world: Harness, view: dict[str, Any], network: str, roles: tuple[str, ...] = ("read@orders",)) -> Any:
    return world.slack.submit(ANN, view, {"roles": list(roles), "duration": "2h", "duration_custom": None,
                                          "justification": JUSTIFICATION, "network": network})


def test_ann_s_address_is_on_the_access_list_until_her_grant_ends(network_world: Harness) -> None:
    world = network_world
    group = world.atlas.projects["payments"]
    form = world.pick(ANN, world.open_modal(ANN), CLUSTER)
    assert any(b.get("block_id") == "network" for b in form["blocks"])

    # a private address is refused in the modal, and nothing is stored
    refused = submit(world, form, "10.1.2.3")
    assert refused.status_code == 200 and "not a public address" in refused.json()["errors"]["network"]
    assert world.row_count("access_request") == 0

    # when she gives her public address and bob approves
    assert submit(world, form, "34.120.5.7").status_code == 200
    request = wait(lambda: world.posted(world.latest_request_id(ANN)))
    assert "`34.120.5.7/32` on the IP access list" in world.message_text(request)
    world.click(BOB, "approve", request)
    grant = world.wait_grant(request, GrantStatus.ACTIVE)

    # then the address is on the project's access list, which Atlas empties itself at the grant's expiry
    [entry] = world.sb.access_list(group)
    assert entry["cidrBlock"] == "34.120.5.7/32" and entry["deleteAfterDate"] == utc_iso(grant.expires_at)
    assert entry["comment"] == f"atlas-access request #{request.id} (ann@example.com)"

    # and when she is done, the bot takes it off with the database user
    world.expire(timedelta(minutes=1))
    assert world.slack.block_action(ANN, "home_done", str(grant.id)).status_code == 200
    wait(lambda: world.get(request.id or 0)[1].status is GrantStatus.REVOKED)  # type: ignore[union-attr]
    assert world.sb.access_list(group) == [] and world.sb.database_users(group) == []


def test_a_collection_scoped_read_with_an_ip_entry_is_granted_revoked_and_cleaned(network_world: Harness) -> None:
    world = network_world
    group = world.atlas.projects["payments"]
    # given ann asks to read orders.payments only, from her address, and bob approves
    form = world.pick(ANN, world.open_modal(ANN), CLUSTER)
    assert submit(world, form, "34.120.5.0/28", roles=("read@orders.payments",)).status_code == 200
    request = wait(lambda: world.posted(world.latest_request_id(ANN)))
    assert "`read@orders.payments`" in world.message_text(request)
    world.click(BOB, "approve", request)
    grant = world.wait_grant(request, GrantStatus.ACTIVE)

    # then Atlas has a custom role holding FIND on orders.payments and nothing else, the user holds only it,
    # and her block is on the access list until the grant's expiry
    role_name = f"{grant.database_user}-c0"
    [role] = world.sb.custom_roles(group)
    assert role == {"roleName": role_name, "inheritedRoles": [], "actions": [
        {"action": "FIND", "resources": [{"db": "orders", "collection": "payments", "cluster": False}]}]}
    [user] = world.sb.database_users(group)
    assert user["roles"] == [{"roleName": role_name, "databaseName": "admin"}]
    [entry] = world.sb.access_list(group)
    assert (entry["cidrBlock"], entry["deleteAfterDate"]) == ("34.120.5.0/28", utc_iso(grant.expires_at))
    assert world.audit("granted")[-1].detail["custom_roles"] == [role_name]

    # when the 2 hours are up (she saw her credentials), everything the grant made is gone
    wait(lambda: [m for m in world.sim.dms(ANN) if "Show credentials" in str(m.get("blocks"))])
    world.runtime.reveals.reveal(grant_id=grant.id or 0, user_id=ANN)
    world.expire(timedelta(hours=2))
    assert world.get(request.id or 0)[1].status is GrantStatus.REVOKED  # type: ignore[union-attr]
    assert world.sb.database_users(group) == [] and world.sb.custom_roles(group) == []
    assert world.sb.access_list(group) == []

"""Database access scoped to one collection: `read@orders.payments` is a temporary custom role holding exactly FIND
on orders.payments, attached to the temporary database user and deleted with it; a failure or crash between the
steps leaves nothing that the retries and the revocation do not remove."""

from __future__ import annotations

from datetime import timedelta

import pytest

from access.database_roles import parse_database_role
from access.model import GrantStatus
from tests.fakes.faults import KINDS
from tests.usecases.world import ANN, CLUSTER, CLUSTER_FLOW, OPTIONS, PAYMENTS, World, flow

G = GrantStatus
H = timedelta(hours=1)
ROLES = ["read@orders.payments", "readWrite@orders.refunds", "readAnyDatabase"]


@pytest.fixture
def scoped() -> World:
    return World(flows=[flow(**{**CLUSTER_FLOW, "roles": ROLES})])


def granted(world: World, roles: tuple[str, ...] = ("read@orders.payments",)) -> int:
    grant = world.approved(resource=CLUSTER, roles=roles, duration=2 * H)
    if grant.status is G.ACTIVE:
        world.reveals.reveal(grant_id=grant.id or 0, user_id=ANN.user_id)
    return grant.id or 0


def custom_roles(world: World) -> dict[str, str]:
    return {name: str(role) for name, role in world.atlas.custom_roles.get(PAYMENTS, {}).items()}


def test_a_collection_read_is_a_custom_role_on_that_namespace_only_and_goes_with_the_user(scoped: World) -> None:
    grant_id = granted(scoped, ("read@orders.payments", "readWrite@orders.refunds"))
    grant = scoped.grant(grant_id)
    user = scoped.atlas.database_user(PAYMENTS, grant.database_user or "")
    assert grant.status is G.ACTIVE and user is not None
    assert custom_roles(scoped) == {f"{grant.database_user}-c0": "read@orders.payments",
                                    f"{grant.database_user}-c1": "readWrite@orders.refunds"}
    assert [r.role_name for r in user.roles] == [f"{grant.database_user}-c0", f"{grant.database_user}-c1"]
    assert scoped.audit("granted")[-1].detail["custom_roles"] == list(custom_roles(scoped))
    scoped.expire(2 * H)
    assert scoped.grant(grant_id).status is G.REVOKED and custom_roles(scoped) == {}
    assert scoped.atlas.database_users[PAYMENTS] == {}


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("landed", [False, True])
def test_a_failure_between_the_role_and_the_user_is_retried_under_the_same_names(scoped: World, kind: str,
                                                                                  landed: bool) -> None:
    scoped.gateway.faults.fail_next(kind, method="create_database_user", landed=landed)
    grant_id = granted(scoped)
    first = scoped.grant(grant_id)
    assert first.status is G.GRANTING and list(custom_roles(scoped)) == [f"{first.database_user}-c0"]
    scoped.expire(timedelta(seconds=2))
    done = scoped.grant(grant_id)
    assert done.status is G.ACTIVE and list(custom_roles(scoped)) == [f"{first.database_user}-c0"]


def test_a_grant_that_keeps_failing_leaves_no_custom_role_behind(scoped: World) -> None:
    scoped.gateway.faults.fail_always("refused", method="create_database_user")
    grant_id = granted(scoped)
    for _ in range(OPTIONS.max_grant_attempts):
        scoped.expire(timedelta(seconds=OPTIONS.backoff_cap_seconds))
    scoped.gateway.faults.clear()
    scoped.expire(timedelta(seconds=OPTIONS.backoff_cap_seconds))
    assert scoped.grant(grant_id).status is G.REVOKED and custom_roles(scoped) == {}


def test_the_projects_custom_role_limit_fails_the_grant_cleanly(scoped: World) -> None:
    scoped.atlas.custom_roles[PAYMENTS] = {f"theirs-{i}": parse_database_role("read@orders.x") for i in range(100)}
    grant_id = granted(scoped)
    for _ in range(OPTIONS.max_grant_attempts):
        scoped.expire(timedelta(seconds=OPTIONS.backoff_cap_seconds))
    grant = scoped.grant(grant_id)
    assert grant.status is G.REVOKED and "100 custom roles" in (scoped.audit("grant_failed")[-1].detail["error"])
    assert len(custom_roles(scoped)) == 100 and scoped.atlas.database_users[PAYMENTS] == {}


@pytest.mark.parametrize(("role", "why"), [
    ("read@admin.users", "system database"), ("read@local.oplog", "system database"),
    ("read@config.x", "system database"), ("read@orders.$cmd", "not a collection name"),
    ("read@orders.system.views", "not a collection name"), ("dbAdmin@orders.payments", "only read and readWrite"),
    ("read@ord ers.payments", "name the database"),
])
def test_a_flow_refuses_namespaces_atlas_refuses(role: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_database_role(role)


# --- existing custom roles, by name -----------------------------------------------------------------------------


@pytest.fixture
def named() -> World:
    world = World(flows=[flow(**{**CLUSTER_FLOW, "roles": ["role:analytics-reader", "read@orders"]})])
    world.atlas.custom_roles[PAYMENTS] = {"analytics-reader": parse_database_role("read@analytics.events")}
    return world


def test_an_existing_custom_role_is_given_by_name_and_left_in_place(named: World) -> None:
    grant_id = granted(named, ("role:analytics-reader",))
    grant = named.grant(grant_id)
    user = named.atlas.database_user(PAYMENTS, grant.database_user or "")
    assert grant.status is G.ACTIVE and user is not None
    assert [(r.role_name, r.database_name) for r in user.roles] == [("analytics-reader", "admin")]
    named.expire(2 * H)
    assert named.grant(grant_id).status is G.REVOKED and list(custom_roles(named)) == ["analytics-reader"]


def test_a_custom_role_the_project_does_not_have_fails_the_grant_with_its_name(named: World) -> None:
    named.atlas.custom_roles[PAYMENTS] = {}
    grant_id = granted(named, ("role:analytics-reader",))
    assert named.grant(grant_id).status is G.GRANTING
    assert "no custom database role named analytics-reader" in (named.grant(grant_id).last_error or "")
    assert named.atlas.database_users[PAYMENTS] == {}

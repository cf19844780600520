"""Temporary database users: deleteAfterDate in the next 7 days, at most 100 a project, gone when the date passes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.atlas.sandbox.conftest import Acme, Api, assert_atlas_error


@pytest.fixture
def group(acme: Acme) -> str:
    group = acme.sandbox.add_project(org_id=acme.org_id, name="payments")
    acme.sandbox.add_cluster(group_id=group, name="Cluster0")
    return group


def user(acme: Acme, group: str, name: str = "tmp-ann", *, hours: float | None = 8, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"username": name, "databaseName": "admin", "password": "correct-horse", "groupId": group,
                            "roles": [{"roleName": "read", "databaseName": "sales"}], **extra}
    if hours is not None:
        body["deleteAfterDate"] = (acme.clock.now() + timedelta(hours=hours)).isoformat().replace("+00:00", "Z")
    return body


def create(api: Api, group: str, body: dict[str, Any]) -> Any:
    return api.call("createGroupDatabaseUser", groupId=group, json=body)


def test_a_temporary_user_is_created_and_goes_when_its_date_passes(acme: Acme, group: str) -> None:
    api = acme.digest()
    created = create(api, group, user(acme, group, scopes=[{"name": "Cluster0", "type": "CLUSTER"}]))
    assert created.status_code == 201, created.text
    assert created.json()["deleteAfterDate"] == "2026-03-02T17:00:00Z" and "password" not in created.json()
    assert [u["username"] for u in acme.sandbox.database_users(group)] == ["tmp-ann"]
    # When the clock passes the date, Atlas has deleted it (seen on the next request)
    acme.clock.advance(hours=8)
    assert api.call("listGroupDatabaseUsers", groupId=group).json()["results"] == []
    assert_atlas_error(api.call("getGroupDatabaseUser", groupId=group, databaseName="admin", username="tmp-ann"), 404)


def test_expiry_can_be_run_explicitly(acme: Acme, group: str) -> None:
    create(acme.digest(), group, user(acme, group, hours=1))
    assert acme.sandbox.expire_database_users() == 0
    acme.clock.advance(hours=2)
    assert acme.sandbox.expire_database_users() == 1


@pytest.mark.parametrize("hours", [-1, 0, 7 * 24 + 1])
def test_delete_after_date_must_be_in_the_next_7_days(acme: Acme, group: str, hours: float) -> None:
    assert_atlas_error(create(acme.digest(), group, user(acme, group, hours=hours)), 400, "INVALID_DELETE_AFTER_DATE")
    assert acme.sandbox.database_users(group) == []


def test_exactly_7_days_is_allowed(acme: Acme, group: str) -> None:
    assert create(acme.digest(), group, user(acme, group, hours=7 * 24)).status_code == 201


def test_a_duplicate_is_409_and_delete_is_204_then_404(acme: Acme, group: str) -> None:
    api = acme.digest()
    assert create(api, group, user(acme, group)).status_code == 201
    assert_atlas_error(create(api, group, user(acme, group)), 409, "USER_ALREADY_EXISTS")
    path = {"groupId": group, "databaseName": "admin", "username": "tmp-ann"}
    assert api.call("deleteGroupDatabaseUser", **path).status_code == 204
    assert_atlas_error(api.call("deleteGroupDatabaseUser", **path), 404, "USERNAME_NOT_FOUND")


def test_a_project_holds_at_most_100_database_users(acme: Acme, group: str) -> None:
    api = acme.digest()
    for i in range(100):
        assert create(api, group, user(acme, group, f"u{i}", hours=None)).status_code == 201
    assert_atlas_error(create(api, group, user(acme, group, "one-too-many")), 400, "MAX_DATABASE_USERS_EXCEEDED")


@pytest.mark.atlas_nonconforming
@pytest.mark.parametrize("change", [
    {"password": "short"}, {"password": None}, {"roles": []},
    {"scopes": [{"name": "NoSuchCluster", "type": "CLUSTER"}]},
    {"databaseName": "sales"}, {"groupId": None}, {"groupId": "65a0ffffffffffffffffffff"},
])
def test_invalid_database_users_are_400(acme: Acme, group: str, change: dict[str, Any]) -> None:
    body = {k: v for k, v in {**user(acme, group), **change}.items() if v is not None}
    assert_atlas_error(create(acme.digest(), group, body), 400)


def test_a_username_with_special_characters_round_trips(acme: Acme, group: str) -> None:
    api = acme.digest()
    assert create(api, group, user(acme, group, "ann@example.com/ro")).status_code == 201
    found = api.call("getGroupDatabaseUser", groupId=group, databaseName="admin", username="ann@example.com/ro")
    assert found.status_code == 200 and found.json()["username"] == "ann@example.com/ro"

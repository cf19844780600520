"""Versions as Atlas checks them: Accept names a version the operation lists, a body comes in the same media type."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.atlas.sandbox.conftest import Acme, assert_atlas_error

ORG_MEMBER = {"username": "ann@example.com", "roles": {"orgRoles": ["ORG_MEMBER"]}}


@pytest.mark.atlas_nonconforming
@pytest.mark.parametrize(("accept", "detail_names"), [
    (None, "2023-01-01"),
    ("application/json", "2023-01-01"),
    ("*/*", "2023-01-01"),
    ("application/vnd.atlas.2024-08-05+json", "2023-01-01"),
    ("application/vnd.atlas.2099-01-01+json", "2023-01-01"),
])
def test_a_missing_or_unlisted_version_is_406(acme: Acme, accept: str | None, detail_names: str) -> None:
    response = acme.digest().call("getOrg", orgId=acme.org_id, headers={"Accept": accept})
    body = assert_atlas_error(response, 406, "INVALID_VERSION_DATE")
    assert detail_names in body["detail"]


def test_the_answer_carries_the_version_it_was_asked_for(acme: Acme) -> None:
    api = acme.digest()
    assert api.call("getOrg", orgId=acme.org_id).headers["Content-Type"] == "application/vnd.atlas.2023-01-01+json"
    users = api.call("listOrgUsers", orgId=acme.org_id)
    assert users.headers["Content-Type"] == "application/vnd.atlas.2025-02-19+json"


def test_an_older_listed_version_is_served_where_the_answer_is_the_same(acme: Acme) -> None:
    # Given removeOrgUser, which still lists 2023-01-01 (sunset 2027-07-01) and answers 204 in both versions
    user_id = acme.sandbox.add_user(org_id=acme.org_id, username="ann@example.com")
    response = acme.digest().call("removeOrgUser", orgId=acme.org_id, userId=user_id, version="2023-01-01")
    assert response.status_code == 204


def test_an_older_version_with_another_shape_is_refused_clearly(acme: Acme) -> None:
    response = acme.digest().call("listOrgUsers", orgId=acme.org_id, version="2023-01-01")
    body = assert_atlas_error(response, 406, "INVALID_VERSION_DATE")
    assert "not simulated" in body["detail"] and "2025-02-19" in body["detail"]


@pytest.mark.atlas_nonconforming
def test_a_version_past_its_sunset_is_gone(acme: Acme) -> None:
    # Given the sandbox clock after 2027-07-01, the sunset of listOrgUsers 2023-01-01
    acme.clock.moment = datetime(2027, 7, 2, tzinfo=UTC)
    user_id = acme.sandbox.add_user(org_id=acme.org_id, username="ann@example.com")
    response = acme.digest().call("removeOrgUser", orgId=acme.org_id, userId=user_id, version="2023-01-01")
    assert_atlas_error(response, 410, "VERSION_GONE")
    # And the newest version still works
    assert acme.digest().call("removeOrgUser", orgId=acme.org_id, userId=user_id).status_code == 204


@pytest.mark.atlas_nonconforming
@pytest.mark.parametrize("content_type", [None, "application/json", "application/vnd.atlas.2023-01-01+json"])
def test_a_body_in_another_media_type_is_415(acme: Acme, content_type: str | None) -> None:
    response = acme.digest().call("createOrgUser", orgId=acme.org_id, json=ORG_MEMBER,
                                  headers={"Content-Type": content_type})
    assert_atlas_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert acme.sandbox.org_user(acme.org_id, "ann@example.com") is None


def test_a_charset_parameter_is_fine(acme: Acme) -> None:
    response = acme.digest().call("createOrgUser", orgId=acme.org_id, json=ORG_MEMBER,
                                  headers={"Content-Type": "application/vnd.atlas.2025-02-19+json; charset=utf-8"})
    assert response.status_code == 201

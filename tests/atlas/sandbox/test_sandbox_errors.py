"""Every failure is an Atlas error body; unknown paths, deprecated families and wrong methods are told apart."""

from __future__ import annotations

import httpx
import pytest

from tests.atlas.sandbox.conftest import Acme, assert_atlas_error

ACCEPT = {"Accept": "application/vnd.atlas.2023-01-01+json"}


@pytest.mark.atlas_nonconforming
@pytest.mark.parametrize(("method", "path", "status", "code"), [
    ("GET", "/api/atlas/v2/nothing/here", 404, "RESOURCE_NOT_FOUND"),
    ("GET", "/api/atlas/v1.0/orgs", 404, "RESOURCE_NOT_FOUND"),
    ("POST", "/api/atlas/v2/orgs/{org}/invites", 404, "DEPRECATED_OPERATION_NOT_SIMULATED"),
    ("PUT", "/api/atlas/v2/orgs/{org}/users/{user}/roles", 404, "DEPRECATED_OPERATION_NOT_SIMULATED"),
    ("POST", "/api/atlas/v2/groups/{group}/access", 404, "DEPRECATED_OPERATION_NOT_SIMULATED"),
    ("GET", "/api/atlas/v2/users/byName/ann@example.com", 404, "DEPRECATED_OPERATION_NOT_SIMULATED"),
    ("PUT", "/api/atlas/v2/orgs/{org}", 405, "METHOD_NOT_ALLOWED"),
    ("GET", "/api/oauth/token", 405, "METHOD_NOT_ALLOWED"),
])
def test_paths_outside_the_simulated_api(acme: Acme, method: str, path: str, status: int, code: str) -> None:
    group = acme.sandbox.add_project(org_id=acme.org_id, name="p")
    user = acme.sandbox.add_user(org_id=acme.org_id, username="ann@example.com")
    url = path.format(org=acme.org_id, group=group, user=user)
    response = acme.http(auth=httpx.DigestAuth(acme.public_key, acme.private_key)).request(method, url, headers=ACCEPT)
    body = assert_atlas_error(response, status, code)
    if code.startswith("DEPRECATED"):
        assert "use " in body["detail"]  # names the operation to call instead


@pytest.mark.atlas_nonconforming
def test_an_id_that_is_not_24_hex_digits_is_400(acme: Acme) -> None:
    response = acme.digest().call("getOrg", orgId="not-an-id")
    assert_atlas_error(response, 400, "VALIDATION_ERROR")


def test_absent_resources_are_404_with_their_own_codes(acme: Acme) -> None:
    api = acme.digest()
    missing = "65a0ffffffffffffffffffff"
    group = acme.sandbox.add_project(org_id=acme.org_id, name="p")
    assert_atlas_error(api.call("getOrg", orgId=missing), 404, "ORG_NOT_FOUND")
    assert_atlas_error(api.call("getGroup", groupId=missing), 404, "GROUP_NOT_FOUND")
    assert_atlas_error(api.call("getOrgUser", orgId=acme.org_id, userId=missing), 404, "USER_NOT_FOUND")
    assert_atlas_error(api.call("getGroupUser", groupId=group, userId=missing), 404, "USER_NOT_FOUND")
    assert_atlas_error(api.call("removeOrgUser", orgId=acme.org_id, userId=missing), 404, "USER_NOT_FOUND")


@pytest.mark.atlas_nonconforming
@pytest.mark.parametrize(("body", "code"), [
    (b"{not json", "INVALID_JSON"),
    (b"[]", "VALIDATION_ERROR"),
    (b'{"username": "ann@example.com"}', "VALIDATION_ERROR"),
    (b'{"username": "ann@example.com", "roles": {"orgRoles": ["ORG_EMPEROR"]}}', "INVALID_ROLE"),
    (b'{"username": "ann@example.com", "roles": {"orgRoles": []}}', "VALIDATION_ERROR"),
    (b'{"username": "not-an-email", "roles": {"orgRoles": ["ORG_MEMBER"]}}', "VALIDATION_ERROR"),
])
def test_a_bad_body_is_400_and_changes_nothing(acme: Acme, body: bytes, code: str) -> None:
    media = "application/vnd.atlas.2025-02-19+json"
    response = acme.http(auth=httpx.DigestAuth(acme.public_key, acme.private_key)).post(
        f"/api/atlas/v2/orgs/{acme.org_id}/users", content=body, headers={"Accept": media, "Content-Type": media})
    assert_atlas_error(response, 400, code)
    assert acme.sandbox.org_user(acme.org_id, "ann@example.com") is None


def test_no_secret_is_echoed_in_an_error(acme: Acme) -> None:
    response = acme.digest(private_key="abcdef12-3456-7890-abcd-ef1234567890").call("getOrg", orgId=acme.org_id)
    assert response.status_code == 401
    assert "abcdef12" not in response.text and acme.private_key not in response.text
    assert acme.private_key not in repr(acme.sandbox) and acme.secret not in repr(acme.sandbox)

"""Auth as Atlas does it: Digest for API keys, bearer tokens for service accounts, the org check, the token endpoint."""

from __future__ import annotations

import base64
from collections.abc import Callable

import httpx
import pytest

from tests.atlas.sandbox.conftest import Acme, Api, assert_atlas_error


def _deleted_key(acme: Acme) -> Api:
    public, private = acme.sandbox.add_api_key(org_id=acme.org_id, roles=["ORG_OWNER"])
    acme.sandbox.remove_api_key(public_key=public)
    return acme.digest(public, private)


def _expired_bearer(acme: Acme) -> Api:
    api = acme.bearer()
    acme.clock.advance(hours=1)
    return api


def _revoked_bearer(acme: Acme) -> Api:
    token = acme.token()
    acme.http().post("/api/oauth/revoke", data={"token": token}, auth=httpx.BasicAuth(acme.client_id, acme.secret))
    return acme.bearer(token)


def _deleted_secret_bearer(acme: Acme) -> Api:
    token = acme.token()
    account = acme.digest().call("getOrgServiceAccount", orgId=acme.org_id, clientId=acme.client_id).json()
    secret_id = account["secrets"][0]["id"]
    deleted = acme.digest().call("deleteOrgServiceAccountSecret", orgId=acme.org_id, clientId=acme.client_id,
                                 secretId=secret_id)
    assert deleted.status_code == 204
    return acme.bearer(token)


def _basic(acme: Acme) -> Api:
    client = acme.http(auth=httpx.BasicAuth(acme.public_key, acme.private_key))
    return Api(client)


CASES: list[tuple[str, Callable[[Acme], Api], int]] = [
    ("no credentials", lambda acme: acme.anonymous(), 401),
    ("wrong private key", lambda acme: acme.digest(private_key="00000000-0000-0000-0000-000000000000"), 401),
    ("unknown public key", lambda acme: acme.digest(public_key="zzzzzzzz"), 401),
    ("good digest", lambda acme: acme.digest(), 200),
    ("good bearer", lambda acme: acme.bearer(), 200),
    ("expired bearer", _expired_bearer, 401),
    ("made-up bearer", lambda acme: acme.bearer("not-a-token"), 401),
    ("revoked bearer", _revoked_bearer, 401),
    ("bearer of a deleted secret", _deleted_secret_bearer, 401),
    ("deleted API key", _deleted_key, 401),
    ("basic auth on the Admin API", _basic, 401),
]


@pytest.mark.parametrize(("case", "make_api", "status"), CASES, ids=[c[0] for c in CASES])
def test_who_may_call(acme: Acme, case: str, make_api: Callable[[Acme], Api], status: int) -> None:
    # Given a caller with these credentials, when it reads the organization
    response = make_api(acme).call("getOrg", orgId=acme.org_id)
    # Then Atlas answers with the status of the table, and a 401 carries an Atlas body and a Digest challenge
    if status == 200:
        assert response.status_code == 200 and response.json()["name"] == "Acme"
    else:
        assert_atlas_error(response, 401, "NOT_AUTHORIZED")
        assert response.headers["WWW-Authenticate"].startswith('Digest realm="MMS Public API"')
        assert 'qop="auth"' in response.headers["WWW-Authenticate"]


def test_digest_takes_one_challenge_per_client_then_goes_straight_through(acme: Acme) -> None:
    api = acme.digest()
    for _ in range(3):
        assert api.call("getOrg", orgId=acme.org_id).status_code == 200
    assert len(acme.sandbox.challenges) == 1 and acme.sandbox.count("getOrg") == 3


def test_a_digest_for_another_path_is_refused(acme: Acme) -> None:
    # Given a valid digest computed for one path, replayed on another
    signed = acme.digest().call("getOrg", orgId=acme.org_id).request.headers["Authorization"]
    replay = acme.http().get(f"/api/atlas/v2/orgs/{acme.org_id}/groups",
                             headers={"Authorization": signed, "Accept": "application/vnd.atlas.2023-01-01+json"})
    assert_atlas_error(replay, 401, "NOT_AUTHORIZED")


def test_a_credential_works_only_in_its_own_organization(acme: Acme) -> None:
    other = acme.sandbox.add_org(name="Other")
    project = acme.sandbox.add_project(org_id=other, name="theirs")
    api = acme.digest()
    for response in (api.call("getOrg", orgId=other), api.call("getGroup", groupId=project),
                     api.call("listOrgUsers", orgId=other)):
        assert_atlas_error(response, 401, "USER_UNAUTHORIZED")
    # And listOrgs shows only the caller's own organization
    assert [o["name"] for o in api.call("listOrgs").json()["results"]] == ["Acme"]


def test_writes_need_organization_owner(acme: Acme) -> None:
    public, private = acme.sandbox.add_api_key(org_id=acme.org_id, roles=["ORG_READ_ONLY"])
    reader = acme.digest(public, private)
    assert reader.call("listOrgUsers", orgId=acme.org_id).status_code == 200
    refused = reader.call("createOrgUser", orgId=acme.org_id,
                          json={"username": "ann@example.com", "roles": {"orgRoles": ["ORG_MEMBER"]}})
    assert_atlas_error(refused, 401, "USER_UNAUTHORIZED")
    assert acme.sandbox.org_user(acme.org_id, "ann@example.com") is None


def test_system_status_names_the_calling_key(acme: Acme) -> None:
    body = acme.digest().call("getSystemStatus").json()
    assert body["apiKey"]["publicKey"] == acme.public_key
    assert body["apiKey"]["roles"] == [{"orgId": acme.org_id, "roleName": "ORG_OWNER"}]
    assert acme.bearer().call("getSystemStatus").json()["apiKey"] is None


# --- the token endpoint ------------------------------------------------------------------------------------


def test_a_token_lives_an_hour_on_the_sandbox_clock(acme: Acme) -> None:
    response = acme.http().post("/api/oauth/token", data={"grant_type": "client_credentials"},
                                auth=httpx.BasicAuth(acme.client_id, acme.secret))
    body = response.json()
    assert response.status_code == 200 and body["expires_in"] == 3600 and body["token_type"] == "Bearer"
    api = acme.bearer(body["access_token"])
    acme.clock.advance(minutes=59)
    assert api.call("getOrg", orgId=acme.org_id).status_code == 200
    acme.clock.advance(minutes=1)
    assert api.call("getOrg", orgId=acme.org_id).status_code == 401
    assert acme.sandbox.tokens_issued(acme.client_id) == 1


@pytest.mark.parametrize(("auth", "form", "status", "code"), [
    (("client", "wrong-secret"), {"grant_type": "client_credentials"}, 401, "INVALID_CLIENT"),
    (None, {"grant_type": "client_credentials"}, 401, "INVALID_CLIENT"),
    (("client", "secret"), {"grant_type": "password"}, 400, "UNSUPPORTED_GRANT_TYPE"),
])
def test_the_token_endpoint_refuses_bad_requests(acme: Acme, auth: tuple[str, str] | None, form: dict[str, str],
                                                 status: int, code: str) -> None:
    basic = None
    if auth is not None:
        basic = httpx.BasicAuth(acme.client_id, acme.secret if auth[1] == "secret" else auth[1])
    response = acme.http().post("/api/oauth/token", data=form, auth=basic)
    assert_atlas_error(response, status, code)
    assert acme.sandbox.tokens_issued(acme.client_id) == 0


def test_a_service_account_may_hold_at_most_100_live_tokens(acme: Acme) -> None:
    for _ in range(100):
        acme.token()
    refused = acme.http().post("/api/oauth/token", data={"grant_type": "client_credentials"},
                               auth=httpx.BasicAuth(acme.client_id, acme.secret))
    assert_atlas_error(refused, 429, "TOO_MANY_ACTIVE_TOKENS")
    assert int(refused.headers["Retry-After"]) > 0
    # When the hour has passed, the old tokens are dead and a new one is issued
    acme.clock.advance(hours=1)
    assert acme.token() and acme.sandbox.live_tokens(acme.client_id) == 1


def test_an_expired_secret_gets_no_token(acme: Acme) -> None:
    client_id, secret = acme.sandbox.add_service_account(org_id=acme.org_id, roles=["ORG_OWNER"], secret_hours=8)
    acme.clock.advance(hours=8)
    response = acme.http().post("/api/oauth/token", data={"grant_type": "client_credentials"},
                                auth=httpx.BasicAuth(client_id, secret))
    assert_atlas_error(response, 401, "INVALID_CLIENT")


def test_the_token_body_must_be_a_form(acme: Acme) -> None:
    basic = base64.b64encode(f"{acme.client_id}:{acme.secret}".encode()).decode()
    response = acme.http().post("/api/oauth/token", json={"grant_type": "client_credentials"},
                                headers={"Authorization": f"Basic {basic}"})
    assert_atlas_error(response, 415)

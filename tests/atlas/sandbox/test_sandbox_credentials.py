"""The bot's own credentials through the API: API keys (private key shown once), service accounts and secrets."""

from __future__ import annotations

import httpx
import pytest

from tests.atlas.sandbox.conftest import Acme, assert_atlas_error


def test_a_new_api_key_shows_its_private_key_once_and_works(acme: Acme) -> None:
    api = acme.digest()
    created = api.call("createOrgApiKey", orgId=acme.org_id, json={"desc": "rotated", "roles": ["ORG_OWNER"]}).json()
    assert len(created["publicKey"]) == 8 and len(created["privateKey"]) == 36
    shown = api.call("getOrgApiKey", orgId=acme.org_id, apiUserId=created["id"]).json()
    assert shown["privateKey"] != created["privateKey"] and "*" in shown["privateKey"]
    listed = api.call("listOrgApiKeys", orgId=acme.org_id).json()
    assert {k["publicKey"] for k in listed["results"]} == {acme.public_key, created["publicKey"]}
    # The new key authenticates; once deleted it does not
    new = acme.digest(created["publicKey"], created["privateKey"])
    assert new.call("getOrg", orgId=acme.org_id).status_code == 200
    assert api.call("deleteOrgApiKey", orgId=acme.org_id, apiUserId=created["id"]).status_code == 204
    assert_atlas_error(acme.digest(created["publicKey"], created["privateKey"]).call("getOrg", orgId=acme.org_id), 401)


def test_api_key_access_list_entries(acme: Acme) -> None:
    api = acme.digest()
    key_id = api.call("getSystemStatus").json()["apiKey"]["id"]
    path = {"orgId": acme.org_id, "apiUserId": key_id}
    added = api.call("createOrgApiKeyAccessListEntry", json=[{"ipAddress": "192.0.2.1"}, {"cidrBlock": "10.0.0.0/8"}],
                     **path).json()
    assert added["totalCount"] == 2
    assert api.call("getOrgApiKeyAccessListEntry", ipAddress="10.0.0.0/8", **path).json()["cidrBlock"] == "10.0.0.0/8"
    assert api.call("deleteOrgApiKeyAccessListEntry", ipAddress="192.0.2.1", **path).status_code == 204
    assert [e.get("cidrBlock") for e in api.call("listOrgApiKeyAccessListEntries", **path).json()["results"]] == [
        "10.0.0.0/8"]


@pytest.mark.atlas_nonconforming
def test_a_malformed_access_list_entry_is_400(acme: Acme) -> None:
    api = acme.digest()
    path = {"orgId": acme.org_id, "apiUserId": api.call("getSystemStatus").json()["apiKey"]["id"]}
    for entry in ({"ipAddress": "999.1.1.1"}, {"cidrBlock": "10.0.0.0/99"}, {}):
        assert_atlas_error(api.call("createOrgApiKeyAccessListEntry", json=[entry], **path), 400)


def test_a_service_account_secret_can_be_rotated(acme: Acme) -> None:
    api = acme.digest()
    path = {"orgId": acme.org_id, "clientId": acme.client_id}
    old_id = api.call("getOrgServiceAccount", **path).json()["secrets"][0]["id"]
    # When a second secret is created, it is shown once and both work
    new = api.call("createOrgServiceAccountSecret", json={"secretExpiresAfterHours": 24}, **path)
    assert new.status_code == 201 and new.json()["secret"].startswith("mdb_sa_sk_")
    assert acme.token(secret=new.json()["secret"]) and acme.token()
    listed = api.call("getOrgServiceAccount", **path).json()["secrets"]
    assert len(listed) == 2 and all("secret" not in s and s["maskedSecretValue"] for s in listed)
    # When the old one is deleted, it stops authenticating and the new one goes on
    assert api.call("deleteOrgServiceAccountSecret", secretId=old_id, **path).status_code == 204
    refused = acme.http().post("/api/oauth/token", data={"grant_type": "client_credentials"},
                               auth=httpx.BasicAuth(acme.client_id, acme.secret))
    assert_atlas_error(refused, 401, "INVALID_CLIENT")
    assert acme.bearer(acme.token(secret=new.json()["secret"])).call("getOrg", orgId=acme.org_id).status_code == 200


def test_secret_lifetimes_are_8_hours_to_a_year(acme: Acme) -> None:
    api = acme.digest()
    path = {"orgId": acme.org_id, "clientId": acme.client_id}
    for hours in (7, 366 * 24):
        assert_atlas_error(api.call("createOrgServiceAccountSecret", json={"secretExpiresAfterHours": hours}, **path),
                           400)


def test_a_deleted_service_account_and_its_tokens_stop_working(acme: Acme) -> None:
    bearer = acme.bearer()
    assert bearer.call("getOrg", orgId=acme.org_id).status_code == 200
    deleted = acme.digest().call("deleteOrgServiceAccount", orgId=acme.org_id, clientId=acme.client_id)
    assert deleted.status_code == 204
    assert_atlas_error(bearer.call("getOrg", orgId=acme.org_id), 401)
    assert_atlas_error(acme.digest().call("getOrgServiceAccount", orgId=acme.org_id, clientId=acme.client_id), 404)

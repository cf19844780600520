"""Atlas-managed X.509 database users and createGroupDatabaseUserCert, as the spec says Atlas answers them.

The user lives on `$external` with `x509Type: MANAGED` and no password; a certificate is asked for with
`monthsUntilExpiration` (at most 24, default 3) and answered 201 with the PEM file itself (certificate and private
key) under the versioned JSON media type, which the spec's schema gives as `type: string`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from access.database_roles import add_months
from tests.atlas.sandbox.conftest import Acme, Api, assert_atlas_error
from tests.atlas.sandbox.spec_schemas import assert_valid, media

V = "2023-01-01"


@pytest.fixture
def group(acme: Acme) -> str:
    group = acme.sandbox.add_project(org_id=acme.org_id, name="payments")
    acme.sandbox.add_cluster(group_id=group, name="Cluster0")
    return group


def x509_user(acme: Acme, group: str, name: str = "ann-g1-abc", **extra: Any) -> dict[str, Any]:
    when = (acme.clock.now() + timedelta(hours=8)).isoformat().replace("+00:00", "Z")
    return {"username": name, "databaseName": "$external", "x509Type": "MANAGED", "groupId": group,
            "roles": [{"roleName": "read", "databaseName": "sales"}], "deleteAfterDate": when,
            "scopes": [{"name": "Cluster0", "type": "CLUSTER"}], **extra}


def certificate(api: Api, group: str, username: str = "ann-g1-abc", body: Any = None) -> Any:
    return api.call("createGroupDatabaseUserCert", groupId=group, username=username,
                    json={"monthsUntilExpiration": 1} if body is None else body)


def test_a_managed_user_gets_a_pem_file_with_its_certificate_and_key(acme: Acme, group: str) -> None:
    api = acme.digest()
    created = api.call("createGroupDatabaseUser", groupId=group, json=x509_user(acme, group))
    assert created.status_code == 201, created.text
    assert_valid(created.json(), operation_id="createGroupDatabaseUser", status=201, media=media(V))
    assert created.json()["x509Type"] == "MANAGED" and created.json()["databaseName"] == "$external"

    answer = certificate(api, group, body={"monthsUntilExpiration": 2})
    assert answer.status_code == 201, answer.text
    assert answer.headers["content-type"] == "application/vnd.atlas.2023-01-01+json"
    assert answer.text.startswith("-----BEGIN CERTIFICATE-----")  # as is, not a JSON-quoted string
    assert_valid(answer.text, operation_id="createGroupDatabaseUserCert", status=201, media=media(V))
    cert = x509.load_pem_x509_certificate(answer.content)
    assert cert.subject.rfc4514_string() == "CN=ann-g1-abc"
    assert cert.not_valid_after_utc == add_months(acme.clock.now(), 2).replace(microsecond=0)
    assert load_pem_private_key(answer.content[answer.content.index(b"-----BEGIN PRIVATE KEY"):], None)
    # the sandbox keeps the certificate's dates, never the PEM
    record = acme.sandbox._state.db_users[group][("$external", "ann-g1-abc")]  # noqa: SLF001
    assert [c["subject"] for c in record.certificates] == ["CN=ann-g1-abc"]
    assert "BEGIN" not in repr(record)


def test_three_months_when_none_are_asked_for(acme: Acme, group: str) -> None:
    api = acme.digest()
    api.call("createGroupDatabaseUser", groupId=group, json=x509_user(acme, group))
    answer = certificate(api, group, body={})
    assert answer.status_code == 201, answer.text
    after = x509.load_pem_x509_certificate(answer.content).not_valid_after_utc
    assert after == add_months(acme.clock.now(), 3).replace(microsecond=0)


@pytest.mark.atlas_nonconforming
@pytest.mark.parametrize("body", [{"monthsUntilExpiration": 25}, {"monthsUntilExpiration": 0},
                                  {"monthsUntilExpiration": -1}, {"monthsUntilExpiration": "2"},
                                  {"monthsUntilExpiration": 1.5}, {"monthsUntilExpiration": True}, []])
def test_months_out_of_range_or_not_an_integer_is_400(acme: Acme, group: str, body: Any) -> None:
    api = acme.digest()
    api.call("createGroupDatabaseUser", groupId=group, json=x509_user(acme, group))
    assert_atlas_error(certificate(api, group, body=body), 400)


def test_an_unknown_user_is_404(acme: Acme, group: str) -> None:
    assert_atlas_error(certificate(acme.digest(), group, "nobody"), 404, "USERNAME_NOT_FOUND")


def test_only_a_managed_x509_user_gets_one(acme: Acme, group: str) -> None:
    api = acme.digest()
    scram = x509_user(acme, group, "scram-ann", databaseName="admin", password="correct-horse")
    del scram["x509Type"]
    assert api.call("createGroupDatabaseUser", groupId=group, json=scram).status_code == 201
    assert_atlas_error(certificate(api, group, "scram-ann"), 400, "NOT_X509_USER")


@pytest.mark.atlas_nonconforming
@pytest.mark.parametrize(("change", "code"), [
    ({"databaseName": "admin"}, "INVALID_AUTH_DATABASE"),  # an X.509 user signs in on $external
    ({"password": "correct-horse"}, None),  # and has no password
    ({"ldapAuthType": "USER"}, None),  # one way of signing in
])
def test_a_managed_user_on_admin_or_with_a_password_is_refused(acme: Acme, group: str, change: dict[str, Any],
                                                               code: str | None) -> None:
    api = acme.digest()
    assert_atlas_error(api.call("createGroupDatabaseUser", groupId=group, json=x509_user(acme, group, **change)),
                       400, code)
    assert acme.sandbox.database_users(group) == []


def test_the_user_is_deleted_from_external_and_its_certificates_with_it(acme: Acme, group: str) -> None:
    api = acme.digest()
    api.call("createGroupDatabaseUser", groupId=group, json=x509_user(acme, group))
    assert certificate(api, group).status_code == 201
    assert_atlas_error(api.call("deleteGroupDatabaseUser", groupId=group, databaseName="admin",
                                username="ann-g1-abc"), 404, "USERNAME_NOT_FOUND")
    assert api.call("deleteGroupDatabaseUser", groupId=group, databaseName="$external",
                    username="ann-g1-abc").status_code == 204
    assert_atlas_error(certificate(api, group), 404, "USERNAME_NOT_FOUND")


def test_the_user_still_goes_at_its_delete_after_date(acme: Acme, group: str) -> None:
    api = acme.digest()
    api.call("createGroupDatabaseUser", groupId=group, json=x509_user(acme, group))
    assert certificate(api, group).status_code == 201  # a month's certificate
    acme.clock.advance(hours=8)
    assert acme.sandbox.database_users(group) == []

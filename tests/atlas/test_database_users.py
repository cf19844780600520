"""Temporary database users through the gateway against the sandbox: scoped, self-expiring, retried, deleted."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest

from access.database_roles import DatabaseRole, parse_database_role
from access.errors import GatewayRefused
from access.model import ResourceKind, ResourceRef
from atlas.client import AtlasClient
from atlas.credentials import ApiKey
from atlas.gateway import AtlasGateway
from tests.atlas.helpers import World

PASSWORD = "s3cretPassw0rdThatMustNeverLeak1"
ROLES = [parse_database_role("read@orders"), parse_database_role("readAnyDatabase")]


@pytest.fixture
def group(world: World) -> str:
    group = world.sandbox.add_project(org_id=world.org_id, name="payments")
    world.sandbox.add_cluster(group_id=group, name="orders-db")
    world.sandbox.add_cluster(group_id=group, name="analytics")
    return group


def cluster(world: World, group: str, name: str = "orders-db") -> ResourceRef:
    return ResourceRef(kind=ResourceKind.CLUSTER, organization_id=world.org_id, atlas_id=f"{group}/{name}",
                       name=f"payments/{name}")


def create(gateway: AtlasGateway, ref: ResourceRef, world: World, *, hours: float = 2,
           password: str = PASSWORD, roles: list[DatabaseRole] = ROLES) -> None:
    gateway.create_database_user(cluster=ref, username="ann-g1-abcdef", password=password, roles=roles,
                                 delete_after=world.clock.now() + timedelta(hours=hours),
                                 description="atlas-access request #1 for ann@example.com")


def test_a_user_is_created_on_one_cluster_and_atlas_deletes_it_at_its_date(world: World, group: str) -> None:
    # given a gateway, when it creates a temporary user on the orders-db cluster for 2 hours
    gateway = world.gateway()
    create(gateway, cluster(world, group), world)
    # then Atlas holds it, scoped to that cluster only, with its roles and its own expiry, and no password
    [user] = world.sandbox.database_users(group)
    assert user["username"] == "ann-g1-abcdef" and user["databaseName"] == "admin"
    assert user["scopes"] == [{"name": "orders-db", "type": "CLUSTER"}]
    assert user["roles"] == [{"roleName": "read", "databaseName": "orders"},
                             {"roleName": "readAnyDatabase", "databaseName": "admin"}]
    assert user["deleteAfterDate"] == "2026-03-02T11:00:00Z" and "password" not in user
    assert user["labels"] == [{"key": "atlas-access", "value": "temporary"}]
    # and when its date passes, Atlas has deleted it by itself: deleting it again is "already gone"
    world.clock.advance(hours=2)
    assert world.sandbox.expire_database_users() == 1
    assert gateway.delete_database_user(cluster=cluster(world, group), username="ann-g1-abcdef") is True


def test_a_retry_after_a_lost_answer_updates_the_same_user(world: World, group: str) -> None:
    gateway = world.gateway()
    create(gateway, cluster(world, group), world, hours=1)
    # when the same user is created again (the first answer was lost), with a new password and a later date
    create(gateway, cluster(world, group), world, hours=3, password="AnotherFreshPassw0rd")
    # then there is still one user, updated in place
    [user] = world.sandbox.database_users(group)
    assert user["deleteAfterDate"] == "2026-03-02T12:00:00Z"
    assert world.count("createGroupDatabaseUser") == 2 and world.count("updateGroupDatabaseUser") == 1


def test_deleting_removes_the_user_once(world: World, group: str) -> None:
    gateway = world.gateway()
    create(gateway, cluster(world, group), world)
    assert gateway.delete_database_user(cluster=cluster(world, group), username="ann-g1-abcdef") is False
    assert world.sandbox.database_users(group) == []
    assert gateway.delete_database_user(cluster=cluster(world, group), username="ann-g1-abcdef") is True


@pytest.mark.parametrize(("hours", "name"), [(7 * 24 + 1, "orders-db"), (1, "no-such-cluster")])
def test_atlas_refusals_come_back_without_the_password(world: World, group: str, hours: float, name: str) -> None:
    with pytest.raises(GatewayRefused) as raised:
        create(world.gateway(), cluster(world, group, name), world, hours=hours)
    assert raised.value.status == 400 and raised.value.operation == "createGroupDatabaseUser"
    assert PASSWORD not in str(raised.value) and PASSWORD not in repr(raised.value)
    assert PASSWORD not in str(raised.value.detail) and PASSWORD not in str(raised.value.__cause__)
    assert world.sandbox.database_users(group) == []


def test_an_error_that_echoes_the_password_is_blanked(world: World, group: str) -> None:
    # given an Atlas that quotes the request body in its error detail (the sandbox never does; some APIs do)
    def echoing(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        return httpx.Response(400, json={"error": 400, "errorCode": "INVALID_ATTRIBUTE", "reason": "Bad Request",
                                         "detail": f"Invalid attribute in {json.dumps(body)}"})

    client = AtlasClient(credentials=ApiKey(public_key="pub", private_key="priv"),
                         transport=httpx.MockTransport(echoing), clock=world.clock, sleep=world.sleeps)
    try:
        with pytest.raises(GatewayRefused) as raised:
            create(AtlasGateway(client), cluster(world, group), world)
    finally:
        client.close()
    assert PASSWORD not in str(raised.value) and "ann-g1-abcdef" in str(raised.value)
    assert PASSWORD not in str(raised.value.detail)


def test_an_extended_grant_moves_the_date_atlas_deletes_the_user(world: World, group: str) -> None:
    gateway = world.gateway()
    create(gateway, cluster(world, group), world, hours=1)
    gateway.extend_database_user(cluster=cluster(world, group), username="ann-g1-abcdef", roles=ROLES,
                                 delete_after=world.clock.now() + timedelta(hours=5))
    [user] = world.sandbox.database_users(group)
    assert user["deleteAfterDate"] == "2026-03-02T14:00:00Z" and len(user["roles"]) == 2
    world.clock.advance(hours=2)
    assert world.sandbox.expire_database_users() == 0


# --- X.509: an Atlas-managed user on $external and its certificate -------------------------------------------------


def create_x509(gateway: AtlasGateway, ref: ResourceRef, world: World, *, hours: float = 2) -> None:
    gateway.create_database_user(cluster=ref, username="ann-g1-abcdef", password=None, roles=ROLES,
                                 delete_after=world.clock.now() + timedelta(hours=hours),
                                 description="atlas-access request #1 for ann@example.com")


def test_an_x509_user_lives_on_external_gets_its_pem_and_is_deleted_there(world: World, group: str) -> None:
    gateway = world.gateway()
    ref = cluster(world, group)
    create_x509(gateway, ref, world)
    [user] = world.sandbox.database_users(group)
    assert (user["databaseName"], user["x509Type"]) == ("$external", "MANAGED") and "password" not in user
    pem = gateway.create_user_certificate(cluster=ref, username="ann-g1-abcdef", months=1)
    assert pem.startswith("-----BEGIN CERTIFICATE-----") and "-----BEGIN PRIVATE KEY-----" in pem
    # a retry after a lost answer updates the same user on $external, keeping its way of signing in
    create_x509(gateway, ref, world, hours=3)
    [user] = world.sandbox.database_users(group)
    assert user["x509Type"] == "MANAGED" and user["deleteAfterDate"] == "2026-03-02T12:00:00Z"
    gateway.extend_database_user(cluster=ref, username="ann-g1-abcdef", roles=ROLES, x509=True,
                                 delete_after=world.clock.now() + timedelta(hours=5))
    assert world.sandbox.database_users(group)[0]["deleteAfterDate"] == "2026-03-02T14:00:00Z"
    # a SCRAM user's database (admin) does not hold it: deleting names $external
    assert gateway.delete_database_user(cluster=ref, username="ann-g1-abcdef") is True
    assert gateway.delete_database_user(cluster=ref, username="ann-g1-abcdef", x509=True) is False
    assert world.sandbox.database_users(group) == []


def test_a_certificate_for_a_user_that_is_gone_is_refused(world: World, group: str) -> None:
    with pytest.raises(GatewayRefused) as raised:
        world.gateway().create_user_certificate(cluster=cluster(world, group), username="nobody", months=1)
    assert raised.value.status == 404 and raised.value.operation == "createGroupDatabaseUserCert"


@pytest.mark.parametrize("months", [0, 25])
def test_months_outside_1_to_24_are_never_sent(world: World, group: str, months: int) -> None:
    with pytest.raises(ValueError, match="1 to 24"):
        world.gateway().create_user_certificate(cluster=cluster(world, group), username="ann-g1-abcdef",
                                                months=months)
    assert world.count("createGroupDatabaseUserCert") == 0


PEM = ("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
       "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n")


@pytest.mark.parametrize("content", [PEM.encode(), json.dumps(PEM).encode()], ids=["as is", "json-quoted"])
def test_the_client_reads_the_pem_answer_as_text_however_atlas_wraps_it(world: World, content: bytes) -> None:
    # Atlas answers the string-valued operation with the PEM itself under its JSON media type; a JSON-quoted
    # string reads the same
    def atlas(request: httpx.Request) -> httpx.Response:
        assert json.loads(request.content) == {"monthsUntilExpiration": 1}
        return httpx.Response(201, content=content, headers={"Content-Type": "application/vnd.atlas.2023-01-01+json"})

    client = AtlasClient(credentials=ApiKey(public_key="pub", private_key="priv"),
                         transport=httpx.MockTransport(atlas), clock=world.clock, sleep=world.sleeps)
    try:
        assert client.call("createGroupDatabaseUserCert", path_params={"groupId": "a" * 24, "username": "u"},
                           json={"monthsUntilExpiration": 1}) == PEM
    finally:
        client.close()


def test_an_answer_without_a_pem_is_an_error_that_quotes_nothing(world: World, group: str) -> None:
    def atlas(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201, content=b"MIIE-private-bits", headers={
            "Content-Type": "application/vnd.atlas.2023-01-01+json"})

    client = AtlasClient(credentials=ApiKey(public_key="pub", private_key="priv"),
                         transport=httpx.MockTransport(atlas), clock=world.clock, sleep=world.sleeps)
    try:
        with pytest.raises(Exception) as raised:
            AtlasGateway(client).create_user_certificate(cluster=cluster(world, group), username="u", months=1)
    finally:
        client.close()
    assert "MIIE-private-bits" not in str(raised.value) and "no PEM" in str(raised.value)

"""The domain's CredentialAuthority over Atlas (atlas.rotation.AtlasCredentialAuthority), against the sandbox: it
issues a credential like the current one as a domain spec, retires and discards by id, and every failure comes out
as a GatewayError (the whole rotation use case, with storage and Slack, is tests/bot/test_rotation.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import SecretStr

from access.config import ApiKeyCredentials, IntegrationSpec, ServiceAccountCredentials
from access.errors import CredentialsMissing, GatewayError, GatewayRefused, GatewayUnauthorized, GatewayUnreachable
from atlas.clients import AtlasClients
from atlas.credentials import ApiKey, ServiceAccount
from atlas.rotation import AtlasCredentialAuthority
from atlas.sandbox import SandboxTransport
from tests.atlas.helpers import World


def authority(world: World, env: dict[str, str] | None = None) -> AtlasCredentialAuthority:
    return AtlasCredentialAuthority(clients=AtlasClients(
        clock=world.clock, transport=lambda: SandboxTransport(world.sandbox),
        options=lambda: {"sleep": world.sleeps, "max_retries": 1}, env=env or {}))


def integration(world: World, credentials: dict[str, Any]) -> IntegrationSpec:
    return IntegrationSpec.model_validate({"name": "prod", "organization_id": world.org_id,
                                           "credentials": credentials, "approval_channel": "C0APPROVALS"})


def with_key(world: World, key: ApiKey | None = None) -> IntegrationSpec:
    key = key or world.api_key
    return integration(world, {"type": "api_key", "public_key": key.public_key,
                               "private_key": key.private_key.get_secret_value()})


def key_ids(world: World, using: ApiKey | None = None) -> dict[str, str]:
    with world.client(using) as client:
        return {k["publicKey"]: k["id"] for k in client.paginate("listOrgApiKeys", path_params={"orgId": world.org_id})}


def works(world: World, credentials: ApiKey | ServiceAccount) -> bool:
    with world.client(credentials, max_retries=0) as client:
        try:
            client.call("getOrg", path_params={"orgId": world.org_id})
        except Exception:
            return False
    return True


def test_an_api_key_is_issued_as_a_domain_spec_and_the_old_one_retired(world: World) -> None:
    old_id = key_ids(world)[world.api_key.public_key]
    issued = authority(world).issue(integration=with_key(world))
    assert isinstance(issued.credentials, ApiKeyCredentials) and issued.old_id == old_id
    new = ApiKey(public_key=str(issued.credentials.public_key),
                 private_key=issued.credentials.private_key or SecretStr(""))
    assert works(world, new) and issued.new_id == key_ids(world)[new.public_key]
    # when the old one is retired with the new credentials (stored by then), then only the new one is left
    stored = with_key(world, new)
    authority(world).retire(integration=stored, old_id=old_id)
    assert list(key_ids(world, new)) == [new.public_key] and not works(world, world.api_key)
    # and retiring it again is done already, not an error
    authority(world).retire(integration=stored, old_id=old_id)


def test_a_service_account_gets_a_new_secret(world: World) -> None:
    spec = integration(world, {"type": "service_account", "client_id": world.service_account.client_id,
                               "client_secret": world.service_account.client_secret.get_secret_value()})
    issued = authority(world).issue(integration=spec)
    assert isinstance(issued.credentials, ServiceAccountCredentials)
    assert issued.credentials.client_id == world.service_account.client_id and issued.old_id
    secret = issued.credentials.client_secret or SecretStr("")
    assert works(world, ServiceAccount(client_id=world.service_account.client_id, client_secret=secret))


def test_a_credential_that_could_not_be_stored_is_discarded(world: World) -> None:
    spec = with_key(world)
    issued = authority(world).issue(integration=spec)
    authority(world).discard(integration=spec, issued=issued)
    assert list(key_ids(world)) == [world.api_key.public_key]


@dataclass(frozen=True)
class Failure:
    name: str
    status: int
    operation_id: str | None
    kind: type[GatewayError]
    words: str


FAILURES = [
    Failure("the current key is refused", 401, None, GatewayUnauthorized, "HTTP 401"),
    Failure("Atlas is down", 503, None, GatewayUnreachable, "HTTP 503"),
    Failure("the key cannot be made", 400, "createOrgApiKey", GatewayRefused, "HTTP 400"),
    Failure("the new key does not work yet", 401, "getOrg", GatewayRefused, "does not work yet"),
]


@pytest.mark.parametrize("failure", FAILURES, ids=[f.name for f in FAILURES])
def test_a_failed_issue_is_a_gateway_error_and_leaves_atlas_as_it_was(world: World, failure: Failure) -> None:
    world.sandbox.faults.fail_next(status=failure.status, count=100, operation_id=failure.operation_id)
    with pytest.raises(GatewayError) as raised:
        authority(world).issue(integration=with_key(world))
    assert type(raised.value) is failure.kind and failure.words in str(raised.value)
    assert world.api_key.private_key.get_secret_value() not in str(raised.value)
    world.sandbox.faults.clear()
    assert list(key_ids(world)) == [world.api_key.public_key]


def test_a_retirement_atlas_refuses_is_a_gateway_error(world: World) -> None:
    world.sandbox.faults.fail_next(status=403, count=100, operation_id="deleteOrgApiKey")
    with pytest.raises(GatewayUnauthorized):
        authority(world).retire(integration=with_key(world), old_id="65a0000000000000000000aa")


def test_credentials_named_in_the_environment_are_read_there(world: World) -> None:
    spec = integration(world, {"type": "api_key", "public_key_env": "ATLAS_PUBLIC_KEY",
                               "private_key_env": "ATLAS_PRIVATE_KEY"})
    with pytest.raises(CredentialsMissing, match="integration prod: the API public key is not set"):
        authority(world).issue(integration=spec)
    env = {"ATLAS_PUBLIC_KEY": world.api_key.public_key,
           "ATLAS_PRIVATE_KEY": world.api_key.private_key.get_secret_value()}
    assert authority(world, env).issue(integration=spec).old_id == key_ids(world)[world.api_key.public_key]

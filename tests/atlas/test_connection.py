"""'Test connection' at the port (access.ports.CredentialCheck): a credential that works and belongs to the
organization, one that works for another organization, a refused one, an Atlas out of reach; stored specs that
name environment variables, and specs typed but not saved, alike. Against the sandbox."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest
from pydantic import SecretStr

from access.config import ApiKeyCredentials, CredentialSpec, ServiceAccountCredentials
from access.errors import CredentialsMissing, GatewayError, GatewayUnauthorized, GatewayUnreachable
from access.model import CredentialCheckResult, OrganizationSeen
from atlas.clients import AtlasClients
from atlas.connection import AtlasCredentialCheck
from atlas.sandbox import SandboxTransport
from tests.atlas.helpers import World


def check(world: World, *, transport: httpx.BaseTransport | None = None,
          env: dict[str, str] | None = None) -> AtlasCredentialCheck:
    clients = AtlasClients(clock=world.clock, transport=lambda: transport or SandboxTransport(world.sandbox),
                           options=lambda: {"sleep": world.sleeps}, env=env or {})
    return AtlasCredentialCheck(clients)


def typed_key(public_key: str, private_key: str) -> CredentialSpec:
    return ApiKeyCredentials(type="api_key", public_key=public_key, private_key=SecretStr(private_key))


@dataclass(frozen=True)
class Case:
    name: str
    which: str  # whose credential: "ours", "ours_sa" (a service account), "other" (another organization's key)
    ok: bool


CASES = [
    Case("the organization's API key", "ours", ok=True),
    Case("the organization's service account", "ours_sa", ok=True),
    Case("another organization's API key", "other", ok=False),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_working_credential_says_whether_it_belongs_to_the_organization(world: World, case: Case) -> None:
    other_org = world.sandbox.add_org(name="Globex")
    other_public, other_private = world.sandbox.add_api_key(org_id=other_org)
    credentials = {
        "ours": typed_key(world.api_key.public_key, world.api_key.private_key.get_secret_value()),
        "ours_sa": ServiceAccountCredentials(type="service_account", client_id=world.service_account.client_id,
                                             client_secret=world.service_account.client_secret),
        "other": typed_key(other_public, other_private),
    }[case.which]
    result = check(world).check_credentials(organization_id=world.org_id.upper(), credentials=credentials)
    acme, globex = OrganizationSeen(id=world.org_id, name="Acme"), OrganizationSeen(id=other_org, name="Globex")
    identity = {"ours": world.api_key.public_key, "ours_sa": world.service_account.client_id,
                "other": other_public}[case.which]
    kind = "service_account" if case.which == "ours_sa" else "api_key"
    assert result == CredentialCheckResult(
        organization_id=world.org_id.upper(), credential_type=kind, identity=identity,
        organization=acme if case.ok else None, visible=(acme,) if case.ok else (globex,))
    assert result.ok is case.ok


def test_a_refused_credential_is_gateway_unauthorized_without_its_secret(world: World) -> None:
    wrong = typed_key(world.api_key.public_key, "not-the-private-key-0123456789")
    with pytest.raises(GatewayUnauthorized) as raised:
        check(world).check_credentials(organization_id=world.org_id, credentials=wrong)
    assert raised.value.status == 401 and raised.value.operation == "listOrgs"
    assert "not-the-private-key" not in str(raised.value) and "not-the-private-key" not in repr(raised.value)


def test_an_atlas_out_of_reach_is_gateway_unreachable_after_one_retry(world: World) -> None:
    calls: list[str] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        raise httpx.ConnectError("connection refused", request=request)

    ours = typed_key(world.api_key.public_key, world.api_key.private_key.get_secret_value())
    with pytest.raises(GatewayUnreachable) as raised:
        check(world, transport=httpx.MockTransport(refuse)).check_credentials(organization_id=world.org_id,
                                                                              credentials=ours)
    assert raised.value.status is None and len(calls) == 2  # someone is looking at the modal: one retry only


def test_a_stored_spec_naming_environment_variables_is_read_from_the_environment(world: World) -> None:
    stored = ApiKeyCredentials(type="api_key", public_key_env="ATLAS_PUBLIC_KEY", private_key_env="ATLAS_PRIVATE_KEY")
    env = {"ATLAS_PUBLIC_KEY": world.api_key.public_key,
           "ATLAS_PRIVATE_KEY": world.api_key.private_key.get_secret_value()}
    assert check(world, env=env).check_credentials(organization_id=world.org_id, credentials=stored).ok
    # and a variable that is not set is named, with nothing asked of Atlas
    world.sandbox.calls.clear()
    with pytest.raises(CredentialsMissing, match="the API private key is not set .environment variable "
                                                  "ATLAS_PRIVATE_KEY"):
        check(world, env={"ATLAS_PUBLIC_KEY": "abc"}).check_credentials(organization_id=world.org_id,
                                                                        credentials=stored)
    assert world.sandbox.calls == []


def test_a_credential_seeing_many_organizations_names_the_first_three(world: World) -> None:
    orgs = [{"id": f"{n:024x}", "name": f"Org {n}"} for n in range(1, 6)]

    def list_orgs(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"results": orgs, "totalCount": len(orgs)})

    ours = typed_key(world.api_key.public_key, world.api_key.private_key.get_secret_value())
    result = check(world, transport=httpx.MockTransport(list_orgs)).check_credentials(
        organization_id="f" * 24, credentials=ours)
    assert not result.ok and [o.name for o in result.visible] == ["Org 1", "Org 2", "Org 3"]


def test_the_check_raises_only_the_domains_words(world: World) -> None:
    world.sandbox.faults.fail_next(status=503, count=100)
    ours = typed_key(world.api_key.public_key, world.api_key.private_key.get_secret_value())
    with pytest.raises(GatewayError) as raised:
        check(world).check_credentials(organization_id=world.org_id, credentials=ours)
    assert type(raised.value) is GatewayUnreachable and raised.value.status == 503

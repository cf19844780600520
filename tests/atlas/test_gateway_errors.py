"""At the domain's port the gateway speaks the domain's words: every Atlas failure, on every method of the port,
comes out as a GatewayError subclass (never an Atlas client error), with the status, code and Retry-After Atlas
gave, and no secret in its text."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest

from access.database_roles import parse_database_role
from access.errors import (
    OWN_IDENTITY,
    GatewayError,
    GatewayRateLimited,
    GatewayRefused,
    GatewayUnauthorized,
    GatewayUnreachable,
)
from access.model import DiscoveryType, ResourceKind, ResourceRef
from atlas.errors import AtlasError
from atlas.gateway import AtlasGateway
from atlas.sandbox import SandboxTransport
from tests.atlas.helpers import World

ANN = "ann@example.com"
PASSWORD = "aTemporaryPassw0rdNobodySees"


@dataclass(frozen=True)
class Place:
    world: World
    project: ResourceRef
    cluster: ResourceRef

    @property
    def org(self) -> ResourceRef:
        org_id = self.world.org_id
        return ResourceRef(kind=ResourceKind.ORGANIZATION, organization_id=org_id, atlas_id=org_id, name="Acme")


@pytest.fixture
def place(world: World) -> Place:
    sb = world.sandbox
    group = sb.add_project(org_id=world.org_id, name="payments")
    sb.add_cluster(group_id=group, name="orders-db")
    sb.add_user(org_id=world.org_id, username=ANN, project_roles={group: ["GROUP_READ_ONLY"]})
    project = ResourceRef(kind=ResourceKind.PROJECT, organization_id=world.org_id, atlas_id=group, name="payments")
    cluster = ResourceRef(kind=ResourceKind.CLUSTER, organization_id=world.org_id, atlas_id=f"{group}/orders-db",
                          name="payments/orders-db")
    return Place(world=world, project=project, cluster=cluster)


# Every method of the port, called as the domain calls it.
CALLS: dict[str, Callable[[AtlasGateway, Place], object]] = {
    "discover": lambda g, p: g.discover(organization_id=p.world.org_id,
                                        types=[DiscoveryType.ORGANIZATIONS, DiscoveryType.PROJECTS]),
    "user_access": lambda g, p: g.user_access(resource=p.project, username=ANN),
    "grant_org": lambda g, p: g.grant(resource=p.org, username=ANN, roles=["ORG_READ_ONLY"]),
    "grant_project": lambda g, p: g.grant(resource=p.project, username=ANN, roles=["GROUP_DATA_ACCESS_READ_ONLY"]),
    "revoke": lambda g, p: g.revoke(resource=p.project, username=ANN, roles=["GROUP_READ_ONLY"], remove_user=True),
    "revoke_by_id": lambda g, p: g.revoke(resource=p.project, username=ANN, roles=["GROUP_READ_ONLY"],
                                          remove_user=False, user_id="65a0000000000000000000ff"),
    "create_database_user": lambda g, p: g.create_database_user(
        cluster=p.cluster, username="ann-g1-abcdef", password=PASSWORD, roles=[parse_database_role("read@orders")],
        delete_after=p.world.clock.now() + timedelta(hours=1), description="atlas-access request #1"),
    "extend_database_user": lambda g, p: g.extend_database_user(
        cluster=p.cluster, username="ann-g1-abcdef", roles=[parse_database_role("read@orders")],
        delete_after=p.world.clock.now() + timedelta(hours=2)),
    "delete_database_user": lambda g, p: g.delete_database_user(cluster=p.cluster, username="ann-g1-abcdef"),
}


@dataclass(frozen=True)
class Fault:
    """What Atlas does to every call (`status`), or that it cannot be reached at all (`no_answer`)."""

    name: str
    kind: type[GatewayError]
    status: int | None = None
    no_answer: type[httpx.TransportError] | None = None
    retry_after: float | None = None


FAULTS = [
    Fault("401 bad credentials", GatewayUnauthorized, status=401),
    Fault("403 missing role or IP", GatewayUnauthorized, status=403),
    Fault("429 through every retry", GatewayRateLimited, status=429, retry_after=7),
    Fault("500", GatewayUnreachable, status=500),
    Fault("503", GatewayUnreachable, status=503),
    Fault("400", GatewayRefused, status=400),
    Fault("409 that keeps coming", GatewayRefused, status=409),
    Fault("connection refused", GatewayUnreachable, no_answer=httpx.ConnectError),
    Fault("read timeout", GatewayUnreachable, no_answer=httpx.ReadTimeout),
]


def _gateway(place: Place, fault: Fault) -> AtlasGateway:
    world = place.world
    if fault.no_answer is not None:
        error = fault.no_answer

        def refuse(request: httpx.Request) -> httpx.Response:
            raise error(f"no route to {request.url.host}", request=request)

        return AtlasGateway(world.client(transport=httpx.MockTransport(refuse)))
    assert fault.status is not None
    world.sandbox.faults.fail_next(status=fault.status, count=10_000, retry_after=fault.retry_after)
    return AtlasGateway(world.client(transport=SandboxTransport(world.sandbox)))


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
@pytest.mark.parametrize("method", sorted(CALLS))
def test_every_atlas_failure_reaches_the_domain_as_a_gateway_error(place: Place, method: str, fault: Fault) -> None:
    # given Atlas failing every call in this way, when the domain calls this method of the port
    gateway = _gateway(place, fault)
    with pytest.raises(GatewayError) as raised:
        CALLS[method](gateway, place)
    # then it hears the domain's word for it, never the Atlas client's, with what Atlas said
    error = raised.value
    assert type(error) is fault.kind and not isinstance(error, AtlasError)
    assert error.status == fault.status and error.operation
    if fault.retry_after is not None:
        assert isinstance(error, GatewayRateLimited) and error.retry_after == fault.retry_after
    if fault.status is not None:
        assert f"HTTP {fault.status}" in str(error)
    # and no secret is in its text
    for secret in (place.world.api_key.private_key.get_secret_value(), PASSWORD):
        assert secret not in str(error) and secret not in repr(error) and secret not in str(error.detail)


def test_a_404_naming_the_resource_is_a_refusal_with_atlas_words(place: Place) -> None:
    gone = ResourceRef(kind=ResourceKind.PROJECT, organization_id=place.world.org_id, atlas_id="f" * 24, name="gone")
    with pytest.raises(GatewayRefused) as raised:
        place.world.gateway().grant(resource=gone, username=ANN, roles=["GROUP_READ_ONLY"])
    assert raised.value.status == 404 and raised.value.code and raised.value.operation == "addGroupUsers"


@pytest.mark.parametrize("method", ["grant_org", "grant_project", "revoke"])
def test_the_bots_own_identity_is_refused_by_the_port(place: Place, method: str) -> None:
    gateway = place.world.gateway(own_identity=ANN)
    with pytest.raises(GatewayRefused) as raised:
        CALLS[method](gateway, place)
    assert raised.value.code == OWN_IDENTITY and raised.value.status is None
    assert place.world.answered() == []  # refused before Atlas heard anything


def test_what_the_port_settles_itself_is_no_error(place: Place) -> None:
    # given Atlas answering 404 to every call: a removal that finds nothing to remove is done, not a failure
    place.world.sandbox.faults.fail_next(status=404, count=10_000)
    gateway = AtlasGateway(place.world.client())
    assert gateway.delete_database_user(cluster=place.cluster, username="ann-g1-abcdef") is True

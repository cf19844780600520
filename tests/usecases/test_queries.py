"""What people are shown: the resources they may ask for, the request form, their own access, their App Home."""

from __future__ import annotations

from datetime import timedelta

import pytest

from access.errors import RequestRefused
from access.model import GrantStatus, RequestStatus
from tests.usecases.world import (
    ANN,
    BOB,
    CLUSTER,
    CLUSTER_FLOW,
    DAN,
    DATA_READ,
    DATA_WRITE,
    GLASS_FLOW,
    ORG_FLOW,
    ORG_ID,
    PAYMENTS,
    READ,
    SEARCH,
    World,
    flow,
    person,
)


@pytest.mark.parametrize(("flows", "query", "who", "expected"), [
    ([{}], "", ANN, ["payments", "search"]),
    ([{}], "PAY", ANN, ["payments"]),
    ([{}, ORG_FLOW, CLUSTER_FLOW], "", ANN, ["Acme", "payments", "search", "payments/payments-main"]),
    ([{"resources": {"types": ["project"], "tags": {"env": "prod"}}}], "", ANN, ["payments"]),
    ([{"requesters": ["@payments-oncall"]}], "", ANN, []),
    ([{"requesters": ["@payments-oncall"]}], "", person(BOB), ["payments", "search"]),
    ([{"enabled": False}], "", ANN, []),
], ids=["projects", "a query", "every kind", "a tag filter", "not a requester", "a requester by group", "disabled"])
def test_what_a_person_may_ask_for(flows: list[dict[str, object]], query: str, who: object,
                                   expected: list[str]) -> None:
    world = World(flows=[flow(**f) for f in flows])  # type: ignore[arg-type]
    found = world.service.requestable(requester=who, query=query)  # type: ignore[arg-type]
    assert [r.name for r in found] == expected


def test_the_form_for_a_project(world: World) -> None:
    form = world.service.form(requester=ANN, integration="prod", resource_id=PAYMENTS)
    assert (form.roles, form.max_duration, form.justification_required, form.auto_approved) == (
        (READ, DATA_READ), timedelta(hours=8), True, False)
    assert (form.approvers.user_ids, form.approvers.group, form.break_glass) == ((BOB, "U0CYD"), "payments-oncall",
                                                                              False)
    assert form.emergency_max_duration is None and form.ordinary_max_duration == timedelta(hours=8)


def test_the_form_offers_the_emergency_box_where_a_break_glass_flow_is() -> None:
    world = World(flows=[flow(), flow(**GLASS_FLOW)])
    form = world.service.form(requester=ANN, integration="prod", resource_id=PAYMENTS)
    assert form.roles == (READ, DATA_READ, DATA_WRITE) and not form.break_glass
    assert (form.emergency_max_duration, form.ordinary_max_duration) == (timedelta(hours=2), timedelta(hours=8))
    only_glass = World(flows=[flow(**GLASS_FLOW)])
    form = only_glass.service.form(requester=ANN, integration="prod", resource_id=PAYMENTS)
    assert form.break_glass and form.ordinary_max_duration is None


@pytest.mark.parametrize(("resource", "flows", "roles", "approvers"), [
    (ORG_ID, [ORG_FLOW], ("ORG_READ_ONLY", "ORG_MEMBER"), (DAN,)),
    (CLUSTER, [CLUSTER_FLOW], ("read@orders", "readAnyDatabase"), (BOB, "U0CYD")),
    (SEARCH, [{}], (READ, DATA_READ), (DAN,)),
])
def test_the_form_for_each_kind_of_resource(resource: str, flows: list[dict[str, object]], roles: tuple[str, ...],
                                            approvers: tuple[str, ...]) -> None:
    world = World(flows=[flow(**f) for f in flows])  # type: ignore[arg-type]
    form = world.service.form(requester=ANN, integration="prod", resource_id=resource)
    assert form.roles == roles and form.approvers.user_ids == approvers


def test_no_form_where_no_flow_lets_her_ask(world: World) -> None:
    world.set_flow(requesters=["@payments-oncall"])
    with pytest.raises(RequestRefused):
        world.service.form(requester=ANN, integration="prod", resource_id=PAYMENTS)


def test_mine_and_the_home_show_a_persons_live_access_and_what_waits(world: World) -> None:
    live = world.approved(roles=(READ,))
    waiting = world.submit(roles=(DATA_READ,))
    ended = world.approved(resource=SEARCH, roles=(READ,), by=DAN)
    world.selfservice.done(grant_id=ended.id or 0, user_id=ANN.user_id)
    mine = world.service.mine(user_id=ANN.user_id)
    assert [g.id for g in mine.grants] == [live.id] and {r.id for r in mine.requests} >= {waiting.id}
    home = world.homes.home(user_id=ANN.user_id)
    assert [g.id for g in home.grants] == [live.id] and [r.id for r in home.pending] == [waiting.id]
    assert home.to_decide == () and home.health == ()
    bob = world.homes.home(user_id=BOB, admin=True)
    assert [r.id for r in bob.to_decide] == [waiting.id]
    assert [name for name, _ in bob.health] == ["prod"]


def test_get_a_request_with_its_grant(world: World) -> None:
    grant = world.approved()
    request, found = world.service.get(grant.request_id)
    assert request.status is RequestStatus.APPROVED and found is not None and found.status is GrantStatus.ACTIVE

"""Requests on behalf: an admin, or a delegate of the flow, asks for someone else. The access is the beneficiary's,
the flows are matched for them, the request records who asked, and neither of them may decide it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from access.config import AccessFlowSpec
from access.entities import AccessRequest
from access.errors import NotAllowed, RequestRefused
from access.model import GrantStatus, RequestStatus
from tests.usecases.world import ANN, BOB, CYD, DAN, EVE, GLASS_FLOW, PAYMENTS, READ, World, flow, person


@pytest.fixture
def world() -> World:
    built = World(flows=[flow(delegates=[EVE, "@payments-oncall"])])  # eve by id; bob and cyd through their group
    built.admins.add(DAN)
    return built


def ask_for(world: World, asker: str, beneficiary: str, *, emergency: bool = False) -> AccessRequest:
    return world.service.submit(requester=person(asker), integration="prod", resource_id=PAYMENTS, roles=(READ,),
                                duration=timedelta(hours=1), justification="INC-9: she is on the bridge",
                                on_behalf=person(beneficiary), emergency=emergency)


@pytest.mark.parametrize(("asker", "may"), [
    (DAN, True),            # an admin
    (EVE, True),            # a delegate named by user id
    (CYD, True),            # a delegate through a user group
    (ANN.user_id, False),   # neither: she may ask for herself only
])
def test_who_may_ask_for_someone_else(world: World, asker: str, may: bool) -> None:
    beneficiary = EVE if asker == ANN.user_id else ANN.user_id
    if not may:
        before = world.requests()
        with pytest.raises(RequestRefused, match="Only admins and the delegates"):
            ask_for(world, asker, beneficiary)
        assert world.requests() == before
        refused = world.audit("refused")[-1]
        assert refused.actor == asker
        return
    request = ask_for(world, asker, beneficiary)
    assert (request.requester_id, request.requester_email, request.requested_by) == (
        ANN.user_id, ANN.email, asker)
    requested = world.audit("requested", request_id=request.id)[0]
    assert (requested.actor, requested.detail["on_behalf_of"]) == (asker, ANN.user_id)
    # the access goes to the beneficiary
    world.service.approve(request_id=request.id or 0, user_id=BOB if asker != BOB else CYD)
    grant = world.grant_of(request.id or 0)
    assert grant.status is GrantStatus.ACTIVE and grant.username == ANN.email and grant.requester_id == ANN.user_id
    assert world.roles(ANN.email) == {READ}


def test_a_delegate_picking_themselves_makes_an_ordinary_request(world: World) -> None:
    request = ask_for(world, EVE, EVE)
    assert (request.requester_id, request.requested_by) == (EVE, None)
    assert "on_behalf_of" not in world.audit("requested")[0].detail


@pytest.mark.parametrize(("asker", "beneficiary", "clicker", "words"), [
    (CYD, ANN.user_id, CYD, "on someone's behalf"),     # the delegate who asked, though an owner
    (EVE, BOB, BOB, "your own request"),                # the beneficiary, though an owner
    (DAN, ANN.user_id, ANN.user_id, "your own request"),
])
def test_neither_the_asker_nor_the_beneficiary_may_decide_it(world: World, asker: str, beneficiary: str,
                                                             clicker: str, words: str) -> None:
    request = ask_for(world, asker, beneficiary)
    for decide in (lambda: world.service.approve(request_id=request.id or 0, user_id=clicker),
                   lambda: world.service.deny(request_id=request.id or 0, user_id=clicker, reason="not mine")):
        with pytest.raises(NotAllowed, match=words):
            decide()
    assert world.request(request.id or 0).status is RequestStatus.PENDING
    other = next(u for u in (BOB, CYD) if u not in (asker, beneficiary))
    world.service.approve(request_id=request.id or 0, user_id=other)
    assert world.request(request.id or 0).status is RequestStatus.APPROVED


def test_the_flows_are_those_of_the_beneficiary() -> None:
    world = World(flows=[flow(requesters=[BOB], delegates=[EVE])])
    with pytest.raises(RequestRefused, match="No access flow lets you"):
        ask_for(world, EVE, ANN.user_id)
    assert world.requests() == []


def test_break_glass_is_not_taken_on_someone_elses_behalf() -> None:
    world = World(flows=[flow(delegates=[EVE]), flow(**GLASS_FLOW, delegates=[EVE])])
    with pytest.raises(RequestRefused, match="not on their behalf"):
        ask_for(world, EVE, ANN.user_id, emergency=True)
    assert world.requests() == []


def test_the_form_offers_the_field_to_admins_and_delegates_only(world: World) -> None:
    offered = {who: world.service.form(requester=person(who), integration="prod", resource_id=PAYMENTS).for_others
               for who in (DAN, EVE, CYD, ANN.user_id)}
    assert offered == {DAN: True, EVE: True, CYD: True, ANN.user_id: False}


@pytest.mark.parametrize(("delegates", "ok"), [
    ([], True), (["@oncall-leads", "U0LEAD", "lead@example.com"], True), (["everyone"], False),
    (["not a thing"], False),
])
def test_delegates_in_the_configuration(delegates: list[str], ok: bool) -> None:
    data = flow().model_dump() | {"delegates": delegates}
    if ok:
        assert AccessFlowSpec.model_validate(data).delegates == delegates
    else:
        with pytest.raises(ValidationError):
            AccessFlowSpec.model_validate(data)

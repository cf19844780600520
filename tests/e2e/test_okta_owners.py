"""Stories: the owners of a project are an Okta group (its owner tag names the group; members matched to Slack users
by email), read again at every click: a member approves, someone removed from the group since cannot."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from access.config import IntegrationSpec
from access.model import GrantStatus
from tests.e2e.harness import ANN, BOB, CAT, DAN, EMAILS, READ, Harness, wait


@pytest.fixture
def okta_world(world: Harness) -> Iterator[Harness]:
    token = world.okta.add_api_token()
    world.vendor_secrets.append(token)
    group = world.okta.add_group("payments-oncall")
    people = {user: world.okta.add_user(EMAILS[user]) for user in (BOB, CAT, DAN)}
    for user in (BOB, CAT):
        world.okta.add_member(group, people[user])
    admins = world.okta.add_group("DBA Team")
    world.okta.add_member(admins, people[DAN])
    world.okta_ids = {"group": group, **people}  # type: ignore[attr-defined]
    with world.runtime.store.unit_of_work() as uow:
        spec = uow.integrations.get("prod")
        assert spec is not None
        uow.integrations.upsert(IntegrationSpec.model_validate({
            **spec.model_dump(), "integration_owners": ["okta:DBA Team"],
            "resource_owner": {"tag_key": "owner", "attribute": "okta_group"},
            "okta": {"org_url": "https://acme.okta.com", "credentials": {"type": "api_token", "token": token}}}))
    yield world


def test_an_okta_group_member_approves_and_someone_removed_since_cannot(okta_world: Harness) -> None:
    world = okta_world
    ids = world.okta_ids  # type: ignore[attr-defined]
    # given ann asks for payments, whose owner tag names the Okta group payments-oncall (bob and cat)
    request = world.request(ANN, "payments", [READ], duration="1h")
    assert set(world.get(request.id or 0)[0].approvers) == {BOB, CAT}
    assert "<@U2>" in world.message_text(request) and "<@U3>" in world.message_text(request)
    # when cat is removed from the group in Okta, and the minute an answer may be kept has passed
    world.okta.remove_member(ids["group"], ids[CAT])
    world.clock.advance(timedelta(seconds=61))
    # then cat's Approve is refused, told, and recorded
    assert world.click(CAT, "approve", request).status_code == 200
    wait(lambda: any("Only the request's approvers" in t for t in world.ephemeral_texts(CAT)))
    assert [e.actor for e in world.audit("refused") if e.request_id == request.id] == [CAT]
    assert world.get(request.id or 0)[1] is None
    # and the message now names who may decide
    wait(lambda: "<@U3>" not in world.message_text(request))
    # when bob, still in the group, approves: granted, and the audit says how he qualified
    assert world.click(BOB, "approve", request).status_code == 200
    world.wait_grant(request, GrantStatus.ACTIVE)
    [approved] = world.audit("approved")
    assert approved.actor == BOB and approved.detail["via"] == "resource_owner:okta:payments-oncall"
    # and every Okta request the app made was a documented operation, authenticated with the token
    assert {c.operation_id for c in world.okta.calls} == {"listGroups", "listGroupUsers"}
    assert all(c.headers.get("authorization") == "SSWS" for c in world.okta.calls)


def test_okta_down_at_the_click_leaves_the_decision_to_the_integration_owners(okta_world: Harness) -> None:
    world = okta_world
    request = world.request(ANN, "payments", [READ], duration="1h")
    world.okta.down = True
    world.clock.advance(timedelta(seconds=61))
    # bob cannot be confirmed as an owner: refused, and told why
    assert world.click(BOB, "approve", request).status_code == 200
    wait(lambda: any("Okta could not be reached" in t for t in world.ephemeral_texts(BOB)))
    assert world.get(request.id or 0)[1] is None
    # Okta back: bob approves
    world.okta.down = False
    assert world.click(BOB, "approve", request).status_code == 200
    world.wait_grant(request, GrantStatus.ACTIVE)

"""Owners from Okta groups (the resource-owner tag naming an Okta group, `okta:<group>` integration owners), resolved
at every click through the Directory of approver groups, table by table.

Given payments' owner tag names the Okta group "payments-oncall" (bob and cyd by email) and the integration owners
are the Okta group "DBA Team" (dan), when someone clicks, then who may decide is what Okta says now; a group
that is unknown, empty or cannot be read falls back to the integration owners, and a refused click says why.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from access.errors import NotAllowed
from access.model import GrantStatus, RequestStatus
from tests.usecases.world import ANN, BOB, CYD, DAN, EMAILS, EVE, OKTA, ORG_ID, World, integration

OWNERS = ["okta:DBA Team"]
LEDGER = "6a0000000000000000000009"


def okta_world(*, owners: list[str] | None = None) -> World:
    world = World(spec=integration(okta=OKTA, integration_owners=owners or OWNERS,
                                   resource_owner={"tag_key": "owner", "attribute": "okta_group"}))
    world.okta.add_group("payments-oncall", [EMAILS[BOB], EMAILS[CYD].upper()])
    world.okta.add_group("DBA Team", [EMAILS[DAN]])
    return world


@dataclass(frozen=True)
class Case:
    name: str
    change: str  # what happens to Okta before the click
    clicker: str
    allowed: bool
    words: str = ""


CASES = [
    Case("an Okta owner approves", "", BOB, True),
    Case("an owner matched whatever the email's case", "", CYD, True),
    Case("someone outside the group may not", "", EVE, False),
    Case("an integration owner may not where the group has members", "", DAN, False),
    Case("removed from the group since: refused", "remove bob", BOB, False),
    Case("added to the group since: allowed", "add eve", EVE, True),
    Case("the group is empty now: the integration owners decide", "empty", DAN, True),
    Case("Okta down: the integration owners' group cannot be read either", "down", DAN, False, "could not be read"),
    Case("Okta down: an Okta owner is refused, with why", "down", BOB, False, "Okta could not be reached"),
    Case("Okta rate-limiting: refused, with why", "429", BOB, False, "rate-limiting"),
    Case("a deprovisioned member: refused", "deprovision bob", BOB, False),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_who_may_decide_is_what_okta_says_at_the_click(case: Case) -> None:
    world = okta_world()
    request = world.submit()
    assert request.approvers == (BOB, CYD) and request.approver_group is None
    change = {
        "remove bob": lambda: world.okta.remove_member("payments-oncall", EMAILS[BOB]),
        "add eve": lambda: world.okta.add_member("payments-oncall", EMAILS[EVE]),
        "empty": lambda: [world.okta.remove_member("payments-oncall", e) for e in (EMAILS[BOB], EMAILS[CYD].upper())],
        "down": lambda: setattr(world.okta, "trouble", True),
        "429": lambda: setattr(world.okta, "rate_limited", True),
        "deprovision bob": lambda: world.okta.add_member("payments-oncall", EMAILS[BOB], status="DEPROVISIONED"),
    }.get(case.change)
    if change is not None:
        change()
    if case.allowed:
        approved = world.service.approve(request_id=request.id or 0, user_id=case.clicker)
        assert approved.status is RequestStatus.APPROVED
        assert world.grant_of(request.id or 0).status is GrantStatus.ACTIVE
        [event] = world.audit("approved")
        assert event.detail["via"].startswith("resource_owner:okta:" if case.clicker != DAN
                                              else "integration_owners:okta:DBA Team")
        return
    with pytest.raises(NotAllowed) as refused:
        world.service.approve(request_id=request.id or 0, user_id=case.clicker)
    assert case.words in str(refused.value)
    assert world.grants() == [] and world.audit("refused")


@pytest.mark.parametrize(("owner_tag", "name"), [(None, "untagged"), ("ghosts", "an unknown Okta group")])
def test_a_project_without_an_okta_owner_group_goes_to_the_integration_owners(owner_tag: str | None,
                                                                              name: str) -> None:
    world = okta_world()
    world.atlas.add_project(ORG_ID, "ledger", tags={"owner": owner_tag} if owner_tag else {}, group_id=LEDGER)
    world.sync.run("prod")
    request = world.submit(resource=LEDGER)
    assert request.approvers == (DAN,)
    assert world.service.approve(request_id=request.id or 0, user_id=DAN).status is RequestStatus.APPROVED
    [event] = world.audit("approved")
    assert event.detail["via"] == "integration_owners:okta:DBA Team"


def test_a_group_of_five_thousand_is_read_whole() -> None:
    world = okta_world()
    for index in range(5000):
        email = f"p{index}@example.com"
        world.directory.add_user(f"U{index:05d}", email)
        world.okta.add_member("payments-oncall", email)
    request = world.submit()
    assert len(request.approvers) == 5002
    assert world.service.approve(request_id=request.id or 0, user_id="U04999").status is RequestStatus.APPROVED


def test_nobody_at_all_to_decide_is_refused_at_the_request() -> None:
    world = okta_world()
    world.okta.trouble = True
    with pytest.raises(Exception, match="Nobody else can approve"):
        world.submit()
    assert ANN

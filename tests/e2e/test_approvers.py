"""Stories: who approves (resource owners, else the integration owners), N-of-M approvals, auto-approval."""

from __future__ import annotations

from datetime import timedelta

import pytest

from access.model import GrantStatus, RequestStatus
from tests.e2e.harness import ANN, BOB, CAT, DAN, DATA_WRITE, EVE, READ, Harness, wait


@pytest.mark.parametrize("project", ["search", "ledger", "solo"], ids=["no-tag", "unknown-group", "only-requester"])
def test_the_integration_owners_approve_when_the_owner_tag_gives_nobody_else(world: Harness, project: str) -> None:
    # given a project with no owner tag, an unknown group, or a group holding only ann herself
    view = world.pick(ANN, world.open_modal(ANN), project)

    # then the modal already says who will approve
    preview = " ".join(e["text"] for b in view["blocks"] if b["type"] == "context" for e in b["elements"])
    assert "integration owners" in preview and "<@U4>" in preview

    # when ann asks, the request goes to dan (an integration owner), who can approve it
    request = world.request(ANN, project, [READ])
    assert request.approvers == (DAN,) and request.approver_group is None
    assert "<@U4>" in world.message_text(request)
    world.click(DAN, "approve", request)
    world.wait_grant(request, GrantStatus.ACTIVE)
    assert READ in world.project_roles(project, ANN)


def test_two_approvals_are_needed_when_the_flow_says_so(world: Harness) -> None:
    # given a flow that needs two approvals for read-write on vault
    request = world.request(ANN, "vault", [DATA_WRITE], duration="2h")
    assert "0 of 2" in world.message_text(request)

    # when bob approves, the request waits for a second approver and nothing is granted
    world.click(BOB, "approve", request)
    wait(lambda: "1 of 2" in world.message_text(request))
    assert world.get(request.id or 0)[0].status is RequestStatus.PENDING
    assert world.project_roles("vault", ANN) == set()

    # when bob clicks again, he is told he already approved
    world.click(BOB, "approve", request)
    wait(lambda: any("already approved this request" in t for t in world.ephemeral_texts(BOB)))

    # when cat approves too, it is granted
    world.click(CAT, "approve", request)
    world.wait_grant(request, GrantStatus.ACTIVE)
    assert world.project_roles("vault", ANN) == {DATA_WRITE}
    assert wait(lambda: "Approved by <@U2>, <@U3>" in world.message_text(request))


def test_an_auto_approved_flow_grants_without_anyone_clicking(world: Harness) -> None:
    # given the playground flow approves automatically (and needs no justification)
    view = world.pick(ANN, world.open_modal(ANN), "playground")
    preview = " ".join(e["text"] for b in view["blocks"] if b["type"] == "context" for e in b["elements"])
    assert "Auto-approved" in preview
    response = world.submit(ANN, view, roles=[READ], duration="4h", justification="")
    assert response.status_code == 200 and not response.content

    # then access is granted at once, the message says so, and ann is told
    request_id = world.latest_request_id(ANN)
    request = wait(lambda: world.posted(request_id))
    world.wait_grant(request, GrantStatus.ACTIVE)
    assert world.project_roles("playground", ANN) == {READ}
    wait(lambda: "Approved automatically" in world.message_text(request))
    wait(lambda: any("You now have" in t for t in world.dm_texts(ANN)))
    world.expire(timedelta(hours=4))
    assert world.project_roles("playground", ANN) == set()


# --- approvers decided at click time ------------------------------------------------------------------------
# Slack's user groups are read again when a decision is clicked (the directory caches them for at most a minute).

DIRECTORY_TTL = timedelta(seconds=61)


def decide_buttons(world: Harness, user: str) -> list[str]:
    """The ids on the Approve buttons of `user`'s Home as Slack shows it now."""
    home = world.sim.home(user) or {}
    return [e["value"] for b in home.get("blocks", []) if b["type"] == "actions" for e in b["elements"]
            if e["action_id"] == "approve"]


def opened_home_offers(world: Harness, user: str, expected: list[str]) -> bool:
    """`user` opens their Home: it comes to offer exactly `expected` to decide (a refresh built a moment before
    may land first, so the newest publish is waited for)."""
    world.slack.app_home_opened(user)
    try:
        wait(lambda: decide_buttons(world, user) == expected, timeout=3)
    except AssertionError:
        return False
    return True


def test_someone_removed_from_the_owner_group_can_no_longer_decide(world: Harness) -> None:
    # given ann's request on payments, owned by @payments-oncall (bob and cat)
    request = world.request(ANN, "payments", [READ])
    assert request.approvers == (BOB, CAT)
    assert opened_home_offers(world, BOB, [str(request.id)])
    # and bob has opened the Deny modal while still an owner
    world.click(BOB, "deny", request)
    deny_view = wait(lambda: world.sim.last_view(user_id=BOB, callback_id="deny_reason"))

    # when bob leaves @payments-oncall, eve joins it, and a minute passes
    world.sim.add_usergroup("S1", handle="payments-oncall", members=[CAT, EVE])
    world.clock.advance(DIRECTORY_TTL)

    # then the Homes follow the group as it is now: nothing to decide for bob, the request for eve
    assert opened_home_offers(world, BOB, [])
    assert opened_home_offers(world, EVE, [str(request.id)])

    # and bob's Approve, and his denial from the modal he opened before, are refused; he is told each time
    world.click(BOB, "approve", request)
    wait(lambda: any("Only the request's approvers" in t for t in world.ephemeral_texts(BOB)))
    assert world.slack.submit(BOB, deny_view, {"reason": "not needed"}).status_code == 200
    wait(lambda: sum("Only the request's approvers" in t for t in world.ephemeral_texts(BOB)) == 2)
    assert world.get(request.id or 0)[0].status is RequestStatus.PENDING and world.get(request.id or 0)[1] is None
    refused = [e for e in world.audit("refused") if e.request_id == request.id]
    assert [e.actor for e in refused] == [BOB, BOB]
    # and the stored request (so the message and the Homes) names the approvers as they are now
    assert world.get(request.id or 0)[0].approvers == (CAT, EVE)

    # when eve, new in the group, approves
    world.click(EVE, "approve", request)

    # then ann gets the access, and the audit row says through which group eve qualified
    world.wait_grant(request, GrantStatus.ACTIVE)
    assert READ in world.project_roles("payments", ANN)
    approved = [e for e in world.audit("approved") if e.request_id == request.id]
    assert [(e.actor, e.detail.get("via")) for e in approved] == [(EVE, "resource_owner:@payments-oncall")]
    assert "Approved by <@U5>" in world.wait_message(request, "Approved by")


def test_integration_owners_are_read_again_and_the_message_names_the_current_ones(world: Harness) -> None:
    # given ann's request on search (no owner tag): the integration owners @atlas-admins (dan) decide
    request = world.request(ANN, "search", [READ])
    assert request.approvers == (DAN,) and "<@U4>" in world.message_text(request)

    # when dan leaves @atlas-admins and eve joins it, and a minute passes
    world.sim.add_usergroup("S2", handle="atlas-admins", members=[EVE])
    world.clock.advance(DIRECTORY_TTL)

    # then dan's click is refused, and the message now names eve instead of dan
    world.click(DAN, "approve", request)
    wait(lambda: any("Only the request's approvers" in t for t in world.ephemeral_texts(DAN)))
    text = world.wait_message(request, "<@U5>")
    assert "<@U4>" not in text

    # when eve denies it, the denial is recorded with the rule she qualified through
    world.deny(EVE, request, "Use the search replica instead")
    wait(lambda: world.get(request.id or 0)[0].status is RequestStatus.DENIED)
    denied = [e for e in world.audit("denied") if e.request_id == request.id]
    assert [(e.actor, e.detail.get("via")) for e in denied] == [(EVE, "integration_owners:@atlas-admins")]


def test_an_approval_given_while_an_owner_counts_and_nobody_counts_twice(world: Harness) -> None:
    # given vault needs two approvals, and bob approved while he was in @payments-oncall
    request = world.request(ANN, "vault", [DATA_WRITE], duration="2h")
    world.click(BOB, "approve", request)
    wait(lambda: "1 of 2" in world.message_text(request))
    first = [e for e in world.audit("approval_added") if e.request_id == request.id]
    assert [(e.actor, e.detail.get("via")) for e in first] == [(BOB, "resource_owner:@payments-oncall")]

    # when bob moves to @atlas-admins too and clicks again, he is told he already approved
    world.sim.add_usergroup("S2", handle="atlas-admins", members=[DAN, BOB])
    world.clock.advance(DIRECTORY_TTL)
    world.click(BOB, "approve", request)
    wait(lambda: any("already approved this request" in t for t in world.ephemeral_texts(BOB)))
    assert world.get(request.id or 0)[0].status is RequestStatus.PENDING

    # when cat approves, the second approval grants it
    world.click(CAT, "approve", request)
    world.wait_grant(request, GrantStatus.ACTIVE)

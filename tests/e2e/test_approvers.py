"""Stories: who approves (resource owners, else the integration owners), N-of-M approvals, auto-approval."""

from __future__ import annotations

from datetime import timedelta

from access.model import GrantStatus, RequestStatus
from tests.e2e.harness import ANN, BOB, CAT, EVE, READ, Harness, wait


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

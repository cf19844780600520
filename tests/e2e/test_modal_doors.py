"""Stories: the Deny and Extend modals open only for those who may submit them, and "I'm done" is recorded as
ended early, by whom, where an expiry is recorded as expired."""

from __future__ import annotations

from datetime import timedelta

import pytest

from access.model import GrantStatus
from tests.e2e.harness import ANN, BOB, CAT, EVE, READ, Harness, wait
from tests.e2e.test_approvers import DIRECTORY_TTL
from tests.e2e.test_extend import active_grant, ask_more


def views_opened(world: Harness, callback_id: str) -> int:
    return len([c for c in world.sim.calls_to("views.open") if c.args.get("view", {}).get("callback_id")
                == callback_id])


@pytest.mark.parametrize(("user", "words"), [
    (EVE, "Only the request's approvers can decide it"),
    (ANN, "You can't approve or deny your own request."),
], ids=["not-an-approver", "the-requester"])  # fmt: skip
def test_the_deny_modal_opens_only_for_someone_who_may_decide(world: Harness, user: str, words: str) -> None:
    # given ann's pending request
    request = world.request(ANN, "payments", [READ])

    # when someone who may not decide it clicks Deny
    assert world.click(user, "deny", request).status_code == 200

    # then no modal opens; they are told why, only they see it, where they clicked
    wait(lambda: any(words in t for t in world.ephemeral_texts(user)))
    assert views_opened(world, "deny_reason") == 0
    # and bob, an approver, gets the modal
    world.click(BOB, "deny", request)
    wait(lambda: views_opened(world, "deny_reason") == 1)


def test_the_deny_modal_follows_the_owner_group_as_it_is_now(world: Harness) -> None:
    # given ann's pending request on payments, owned by @payments-oncall (bob and cat)
    request = world.request(ANN, "payments", [READ])

    # when bob leaves the group, eve joins it, and the directory's minute has passed
    world.sim.add_usergroup("S1", handle="payments-oncall", members=[CAT, EVE])
    world.clock.advance(DIRECTORY_TTL)

    # then bob's Deny opens nothing and tells him why; eve's opens the modal
    world.click(BOB, "deny", request)
    wait(lambda: any("Only the request's approvers" in t for t in world.ephemeral_texts(BOB)))
    assert views_opened(world, "deny_reason") == 0
    world.click(EVE, "deny", request)
    wait(lambda: views_opened(world, "deny_reason") == 1)


def test_the_deny_modal_does_not_open_on_a_decided_request(world: Harness) -> None:
    # given ann's request, approved by bob
    request = world.request(ANN, "payments", [READ])
    world.click(BOB, "approve", request)
    world.wait_grant(request, GrantStatus.ACTIVE)

    # when bob clicks Deny on a stale copy of it, then no modal opens and he hears it is decided
    world.click(BOB, "deny", request)
    wait(lambda: "This request was already approved by <@U2>." in world.ephemeral_texts(BOB))
    assert views_opened(world, "deny_reason") == 0


def test_the_extend_modal_opens_only_for_the_holder_of_extendable_access(world: Harness) -> None:
    # given ann's active grant
    _, grant = active_grant(world)

    # when bob sends Extend for it, then no modal opens and he is told why
    world.slack.block_action(BOB, "home_extend", str(grant.id))
    wait(lambda: "Only the person who holds this access can extend it." in world.ephemeral_texts(BOB))
    assert views_opened(world, "extend_grant") == 0

    # when ann has an extension waiting, then Extend points at it instead of opening
    ask_more(world, "1h")
    waiting = wait(lambda: world.posted(world.latest_request_id(ANN)))
    opened = views_opened(world, "extend_grant")
    world.slack.block_action(ANN, "home_extend", str(grant.id))
    wait(lambda: any(f"request #{waiting.id} is waiting" in t for t in world.ephemeral_texts(ANN)))
    assert views_opened(world, "extend_grant") == opened

    # and once the access has ended, Extend says so instead of opening
    world.expire(timedelta(hours=1))
    world.slack.block_action(ANN, "home_extend", str(grant.id))
    wait(lambda: "Only active access can be extended." in world.ephemeral_texts(ANN))
    assert views_opened(world, "extend_grant") == opened


def test_the_extend_modal_does_not_open_when_the_flow_allows_no_more(world: Harness) -> None:
    # given ann's 4h grant, extended by 4h to the flow's 8h in all
    _, grant = active_grant(world, duration="4h")
    ask_more(world, "4h")
    world.click(BOB, "approve", wait(lambda: world.posted(world.latest_request_id(ANN))))
    wait(lambda: world.audit("extended"))
    opened = views_opened(world, "extend_grant")

    # when she clicks Extend again, then no modal opens and she hears why
    world.slack.block_action(ANN, "home_extend", str(grant.id))
    wait(lambda: "This access already lasts as long as the flow prod-projects allows: 8 hours in all from when it "
                 "started." in world.ephemeral_texts(ANN))
    assert views_opened(world, "extend_grant") == opened


def test_im_done_is_recorded_as_ended_early_by_the_holder(world: Harness) -> None:
    # given ann's active grant; when she clicks "I'm done"
    request, grant = active_grant(world)
    world.slack.block_action(ANN, "home_done", str(grant.id))
    world.wait_grant(request, GrantStatus.REVOKED)

    # then the revocation's audit row says it ended early, and who ended it
    (revoked,) = world.audit("revoked")
    assert (revoked.detail["reason"], revoked.detail["ended_by"]) == ("ended_early", ANN)


def test_an_expiry_is_recorded_as_expired(world: Harness) -> None:
    request, _ = active_grant(world)
    world.expire(timedelta(hours=1))
    (revoked,) = world.audit("revoked")
    assert revoked.detail["reason"] == "expired" and "ended_by" not in revoked.detail

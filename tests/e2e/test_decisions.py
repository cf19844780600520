"""Stories: denials, refusals of people who may not decide, and clicks that arrive twice or at once."""

from __future__ import annotations

import threading

from access.model import GrantStatus, RequestStatus
from tests.e2e.harness import ANN, BOB, EVE, READ, Harness, wait


def test_a_denied_request_says_why_and_grants_nothing(world: Harness) -> None:
    # given ann's request for payments
    request = world.request(ANN, "payments", [READ])

    # when bob denies it with a reason
    response = world.deny(BOB, request, "Use the read replica dashboard instead")
    assert response.status_code == 200 and not response.content  # the modal closes

    # then the request is denied, the message and ann's DM give the reason, Atlas is untouched
    wait(lambda: world.get(request.id or 0)[0].status is RequestStatus.DENIED)
    text = world.wait_message(request, "Denied by")
    assert "Denied by <@U2>" in text and "read replica dashboard" in text
    wait(lambda: any("was denied by <@U2>" in t and "read replica dashboard" in t for t in world.dm_texts(ANN)))
    assert world.get(request.id or 0)[1] is None
    assert world.sb.count("addGroupUserRole") == 0 and world.sb.count("addGroupUsers") == 0


def test_a_blank_deny_reason_is_sent_back_to_the_modal(world: Harness) -> None:
    request = world.request(ANN, "payments", [READ])
    response = world.deny(BOB, request, "  ")
    assert response.json() == {"response_action": "errors", "errors": {"reason": response.json()["errors"]["reason"]}}
    assert world.get(request.id or 0)[0].status is RequestStatus.PENDING


def test_nobody_approves_their_own_request(world: Harness) -> None:
    # given ann's request
    request = world.request(ANN, "payments", [READ])
    refusals_before = len(world.audit("refused"))

    # when ann clicks Approve herself
    assert world.click(ANN, "approve", request).status_code == 200

    # then only she sees a refusal, nothing changes, and the attempt is on record
    wait(lambda: any("your own request" in t for t in world.ephemeral_texts(ANN)))
    assert world.get(request.id or 0)[0].status is RequestStatus.PENDING
    assert world.get(request.id or 0)[1] is None
    refused = world.audit("refused")
    assert len(refused) == refusals_before + 1 and refused[-1].actor == ANN
    assert world.sb.count("addGroupUserRole") == 0


def test_someone_who_is_not_an_owner_is_refused(world: Harness) -> None:
    request = world.request(ANN, "payments", [READ])
    world.click(EVE, "approve", request)
    wait(lambda: any("Only the request's approvers" in t for t in world.ephemeral_texts(EVE)))
    assert world.get(request.id or 0)[0].status is RequestStatus.PENDING
    assert world.audit("refused")[-1].actor == EVE


def test_a_double_click_and_a_redelivered_click_approve_once_and_grant_once(world: Harness) -> None:
    # given ann's request
    request = world.request(ANN, "payments", [READ])

    # when bob's click arrives three times at once (a double click, and Slack redelivering it)
    clicks = [threading.Thread(target=world.click, args=(BOB, "approve", request)) for _ in range(3)]
    for click in clicks:
        click.start()
    for click in clicks:
        click.join()
    world.wait_grant(request, GrantStatus.ACTIVE)

    # then there is one approval and one grant, and Atlas was asked to add the role once
    wait(lambda: len(world.ephemeral_texts(BOB)) == 2)
    assert all("already" in t for t in world.ephemeral_texts(BOB))
    assert len(world.get(request.id or 0)[0].approvals) == 1
    assert len(world.audit("approved")) == 1 and len(world.audit("granted")) == 1
    assert world.sb.count("addGroupUserRole") == 1

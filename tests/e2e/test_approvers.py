"""Stories: who approves (resource owners, else the integration owners), N-of-M approvals, auto-approval."""

from __future__ import annotations

from datetime import timedelta

import pytest

from access.model import GrantStatus, RequestStatus
from tests.e2e.harness import ANN, BOB, CAT, DAN, DATA_WRITE, READ, Harness, wait


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

"""Stories: a person asks, an owner approves, Atlas grants, and at the end of the time Atlas takes it back."""

from __future__ import annotations

from datetime import timedelta

from access.model import GrantStatus
from tests.e2e.harness import ANN, BOB, DAN, DATA_READ, READ, Harness, wait


def test_project_access_is_requested_approved_granted_and_revoked(world: Harness) -> None:
    # given ann, who already reads payments' data, asks for read-only on payments for 2 hours
    request = world.request(ANN, "payments", [READ], duration="2h")

    # then the approval message mentions the project's owners and offers the buttons; ann is told
    text = world.message_text(request)
    assert "<!subteam^S1>" in text and "`GROUP_READ_ONLY`" in text and "2 hours" in text
    assert "0 of 1" in text and "INC-4242" in text
    buttons = [e["action_id"] for b in world.message(request)["blocks"] if b["type"] == "actions"
               for e in b["elements"]]
    assert buttons == ["approve", "approve_for", "deny"]
    wait(lambda: any("sent your request" in t and "@payments-oncall" in t for t in world.dm_texts(ANN)))

    # when bob (an owner) approves
    assert world.click(BOB, "approve", request).status_code == 200
    grant = world.wait_grant(request, GrantStatus.ACTIVE)

    # then Atlas shows the role, the message says who approved and until when, ann hears it with the details
    assert world.project_roles("payments", ANN) == {DATA_READ, READ}
    assert grant.expires_at == world.clock.now() + timedelta(hours=2)
    text = world.wait_message(request, "active until")
    assert "Approved by <@U2>" in text
    # no decision buttons any more: only Revoke now, for the owners, while the access is live
    assert [e["action_id"] for b in world.message(request)["blocks"] if b["type"] == "actions"
            for e in b["elements"]] == ["grant_revoke"]
    wait(lambda: any("You now have" in t for t in world.dm_texts(ANN)))
    granted = next(t for t in world.dm_texts(ANN) if "You now have" in t)
    assert "company SSO" in granted and "(approved by <@U2>)" in granted
    # granted at the click, before any message went out: no separate "approved, granting now…" DM
    assert not any("Granting it in Atlas now" in t for t in world.dm_texts(ANN))

    # when the two hours are up
    world.expire(timedelta(hours=2))

    # then the role is gone, the role she had before stays, the message and ann say so
    assert world.project_roles("payments", ANN) == {DATA_READ}
    assert world.get(request.id or 0)[1].status is GrantStatus.REVOKED  # type: ignore[union-attr]
    assert "revoked at" in world.message_text(request)
    assert any("has ended" in t and "Removed: `GROUP_READ_ONLY`" in t for t in world.dm_texts(ANN))
    assert [e.action for e in world.audit() if e.request_id == request.id] == [
        "requested", "approved", "granted", "revoked"]


def test_organization_access_goes_to_the_integration_owners(world: Harness) -> None:
    # given ann asks for read-only on the whole organization (no owner tag there: the integration owners decide)
    request = world.request(ANN, "Acme", ["ORG_READ_ONLY"], duration="1h")
    assert request.approvers == (DAN,)
    assert "<@U4>" in world.message_text(request)

    # when dan approves
    world.click(DAN, "approve", request)
    world.wait_grant(request, GrantStatus.ACTIVE)

    # then Atlas shows the org role until the hour is up, and only ORG_MEMBER afterwards
    org = world.atlas.org_id
    assert world.sb.org_roles(org, "ann@example.com") == {"ORG_MEMBER", "ORG_READ_ONLY"}
    world.expire(timedelta(minutes=59))
    assert world.sb.org_roles(org, "ann@example.com") == {"ORG_MEMBER", "ORG_READ_ONLY"}
    world.expire(timedelta(minutes=1))
    assert world.sb.org_roles(org, "ann@example.com") == {"ORG_MEMBER"}

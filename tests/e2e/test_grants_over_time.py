"""Stories: what a person had before stays, overlapping grants, invitations, and a restart mid-grant."""

from __future__ import annotations

from datetime import timedelta

from access.model import GrantStatus
from tests.e2e.harness import BOB, GUS, READ, Harness, wait


def test_a_non_member_is_invited_and_the_clock_starts_when_they_accept(world: Harness) -> None:
    # given gus, who is not in the Atlas organization, is approved for 2 hours on payments
    request = world.request(GUS, "payments", [READ], duration="2h")
    world.click(BOB, "approve", request)
    grant = world.wait_grant(request, GrantStatus.INVITED)

    # then the message and gus say it waits for him to accept the invitation
    assert grant.expires_at is not None and grant.starts_at is None
    wait(lambda: "waiting for <@U7> to accept" in world.message_text(request))
    wait(lambda: any("the invitation email from MongoDB Atlas" in t and "starts when you accept" in t
                     for t in world.dm_texts(GUS)))

    # when he accepts three hours later, the two hours start then
    world.expire(timedelta(hours=3))
    assert world.get(request.id or 0)[1].status is GrantStatus.INVITED  # type: ignore[union-attr]
    world.sb.accept_invitation(org_id=world.atlas.org_id, username="gus@example.com")
    world.expire(timedelta(seconds=61))  # the next poll of the invitation
    grant = world.wait_grant(request, GrantStatus.ACTIVE)
    assert grant.starts_at == world.clock.now()
    assert world.project_roles("payments", GUS) == {READ}
    wait(lambda: any("You accepted the Atlas invitation" in t for t in world.dm_texts(GUS)))

    # and it ends two hours after acceptance, not after approval
    world.expire(timedelta(hours=1, minutes=59))
    assert world.project_roles("payments", GUS) == {READ}
    world.expire(timedelta(minutes=1))
    assert world.project_roles("payments", GUS) == set()

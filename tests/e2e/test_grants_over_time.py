"""Stories: what a person had before stays, overlapping grants, invitations, and a restart mid-grant."""

from __future__ import annotations

from datetime import timedelta

from access.model import GrantStatus
from tests.e2e.harness import ANN, BOB, DATA_READ, GUS, READ, Harness, wait


def test_a_role_held_before_the_request_stays_after_it_ends(world: Harness) -> None:
    # given ann already holds data read-only on payments and asks for it together with read-only
    request = world.request(ANN, "payments", [READ, DATA_READ], duration="1h")
    world.click(BOB, "approve", request)
    grant = world.wait_grant(request, GrantStatus.ACTIVE)
    assert grant.baseline_roles == (DATA_READ,) and grant.added_roles == (READ,)

    # when the hour is up
    world.expire(timedelta(hours=1))

    # then only what the grant added is gone, and ann is told what was kept and why
    assert world.project_roles("payments", ANN) == {DATA_READ}
    ended = next(t for t in world.dm_texts(ANN) if "has ended" in t)
    assert "Removed: `GROUP_READ_ONLY`" in ended and "Kept: `GROUP_DATA_ACCESS_READ_ONLY`" in ended


def test_overlapping_grants_on_one_project_keep_the_role_until_the_last_ends(world: Harness) -> None:
    # given two approved requests for the same role on search: one for 1 hour, one for 4 hours
    short = world.request(ANN, "search", [READ], duration="1h")
    world.click("U4", "approve", short)
    world.wait_grant(short, GrantStatus.ACTIVE)
    long = world.request(ANN, "search", [READ], duration="4h")
    world.click("U4", "approve", long)
    world.wait_grant(long, GrantStatus.ACTIVE)
    assert world.project_roles("search", ANN) == {READ}

    # when the first ends, the role stays for the second
    world.expire(timedelta(hours=1))
    assert world.get(short.id or 0)[1].status is GrantStatus.REVOKED  # type: ignore[union-attr]
    assert world.project_roles("search", ANN) == {READ}
    # and ann is told so: not that it was removed
    [ended] = [t for t in world.dm_texts(ANN) if t.startswith(f"Your access from request #{short.id} ")]
    assert "Removed" not in ended and "another of your requests still gives it" in ended

    # when the second ends, ann is no longer in the project at all (she was not before)
    world.expire(timedelta(hours=3))
    assert world.get(long.id or 0)[1].status is GrantStatus.REVOKED  # type: ignore[union-attr]
    assert world.sb.project_roles(world.atlas.projects["search"], "ann@example.com") == set()


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


def test_an_invitation_nobody_accepts_is_withdrawn(world: Harness) -> None:
    request = world.request(GUS, "payments", [READ], duration="2h")
    world.click(BOB, "approve", request)
    world.wait_grant(request, GrantStatus.INVITED)
    assert world.sb.org_user(world.atlas.org_id, "gus@example.com") is not None  # invited (PENDING)

    # when the invitation window (7 days) passes without acceptance
    world.expire(timedelta(days=7, minutes=1))

    # then the invitation is withdrawn and gus is told
    assert world.get(request.id or 0)[1].status is GrantStatus.REVOKED  # type: ignore[union-attr]
    assert world.sb.org_user(world.atlas.org_id, "gus@example.com") is None
    assert any("invitation" in t and "withdrawn" in t for t in world.dm_texts(GUS))
    assert "invitation withdrawn" in world.message_text(request)


def test_access_that_fell_due_while_the_bot_was_down_is_revoked_at_start(world: Harness) -> None:
    # given ann holds read-only on payments for an hour
    request = world.request(ANN, "payments", [READ], duration="1h")
    world.click(BOB, "approve", request)
    world.wait_grant(request, GrantStatus.ACTIVE)

    # when the bot is down past the expiry and a new process starts on the same database
    world.server.stop()
    world.clock.advance(timedelta(hours=3))
    world.restart()
    worked = world.runtime.worker.run_due()  # the start-up sweep of `atlas-access serve`

    # then it revokes what fell due, updates the message and tells ann
    assert worked == 1
    assert world.project_roles("payments", ANN) == {DATA_READ}
    assert "revoked at" in world.message_text(request)
    assert any("has ended" in t for t in world.dm_texts(ANN))

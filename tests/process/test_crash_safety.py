"""Crash safety: a real `atlas-access serve` is SIGKILLed at each step that matters, then started again.

Each story holds the call the process is waiting on at the door of the fake Atlas or Slack (see doors.py),
checks the database shows the step it wants (the request stored, the approval stored, the grant claimed),
kills the process there, lets the held call go through or drops it, and starts a new process on the same
database. Then: nothing is lost, nothing is granted twice, no grant outlives its expiry by more than the
lease plus the sweep interval after the restart, and Atlas holds what the database says.

Bounds carry SLACK seconds on top of the lease and sweep interval: the children share a busy 2-core machine
with the test, and a sweep that is due can start late by a scheduler tick and a loaded CPU, not by a lease.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from access.model import GrantStatus, RequestStatus
from tests.e2e.harness import ANN, BOB, CHANNEL, DATA_READ, READ
from tests.process.world import ProcessWorld, approved_and_active, now, wait

G = GrantStatus
SLACK = 5.0


def bound(world: ProcessWorld) -> timedelta:
    return timedelta(seconds=world.lease_seconds + world.sweep_seconds + SLACK)


def test_a_request_stored_but_not_yet_announced_is_announced_after_a_restart(world: ProcessWorld) -> None:
    app = world.spawn()
    # given the approval message cannot reach Slack: the request is stored and acked, its post waits
    door = world.sim.hold("chat.postMessage", channel=CHANNEL)
    request_id = world.ask(app, ANN, "payments", [READ])
    door.wait_arrival(30)
    assert world.request(request_id).message_ts is None
    # when the process dies there, and the post never arrives
    app.kill()
    door.release(through=False)
    restarted = world.restart(app)
    # then the new process announces the request, and it can be approved and granted as if nothing happened
    request = world.posted(request_id, timeout=world.lease_seconds + world.sweep_seconds + 30)
    assert request.status is RequestStatus.PENDING
    assert request.channel == CHANNEL and request.message_ts
    assert world.sim.message(CHANNEL, request.message_ts)["blocks"]  # the message is in Slack, with its buttons
    assert world.click(restarted, BOB, "approve", request_id).status_code == 200
    world.wait_grant(request_id, G.ACTIVE)
    assert world.roles("payments", ANN) == {READ, DATA_READ}
    assert world.succeeded("addGroupUserRole") == 1
    world.assert_atlas_matches_database()


def test_an_approval_stored_before_the_grant_call_is_granted_once_after_a_restart(world: ProcessWorld) -> None:
    # (An approval stored whose grant was never claimed, a window with no outside call to hold the process at
    # since the grant runs before the click's messages, is covered on the use case's fakes: tests/usecases/
    # test_worker_grant.py.)
    app = world.spawn()
    request_id = world.ask(app, ANN, "payments", [READ])
    world.posted(request_id)
    # given the process stops right after the approval is stored and its grant claimed, at the worker's first
    # Atlas call (the look-up that gives the baseline)
    door = world.sb.hold("listOrgUsers")
    assert world.click(app, BOB, "approve", request_id).status_code == 200
    door.wait_arrival(30)
    grant = world.grant(request_id)
    assert grant is not None and grant.status is G.GRANTING and grant.attempts == 0
    assert grant.lease_owner is not None and grant.baseline_at is None
    assert world.succeeded("addGroupUserRole") == 0
    # when it is killed there and started again
    app.kill()
    door.release()
    world.restart(app)
    # then the grant happens, once
    granted = world.wait_grant(request_id, G.ACTIVE, timeout=world.lease_seconds + world.sweep_seconds + 30)
    assert world.request(request_id).status is RequestStatus.APPROVED
    assert world.roles("payments", ANN) == {READ, DATA_READ}
    assert world.succeeded("addGroupUserRole") == 1
    assert granted.baseline_roles == (DATA_READ,)
    assert world.audit_actions(request_id).count("granted") == 1
    world.assert_atlas_matches_database()


@pytest.mark.parametrize("reached_atlas", [True, False], ids=["reached Atlas", "lost on the way"])
def test_a_grant_interrupted_in_flight_completes_once_and_still_revokes_to_the_baseline(
    world: ProcessWorld, reached_atlas: bool,
) -> None:
    app = world.spawn()
    request_id = world.ask(app, ANN, "payments", [READ])
    world.posted(request_id)
    # given the process is waiting on Atlas to add the role
    door = world.sb.hold("addGroupUserRole")
    assert world.click(app, BOB, "approve", request_id).status_code == 200
    door.wait_arrival(30)
    grant = world.grant(request_id)
    assert grant is not None and grant.status is G.GRANTING and grant.attempts == 1
    # when it is killed mid-call, the call lands in Atlas (or not), and a new process starts
    app.kill()
    door.release(through=reached_atlas)
    restarted = world.restart(app)
    # then the grant completes, with the role added in Atlas exactly once
    granted = world.wait_grant(request_id, G.ACTIVE, timeout=world.lease_seconds + world.sweep_seconds + 30)
    assert world.roles("payments", ANN) == {READ, DATA_READ}
    assert world.succeeded("addGroupUserRole") == 1
    assert granted.baseline_roles == (DATA_READ,)
    world.assert_atlas_matches_database()
    # and at expiry ann is back to exactly what she had
    world.expire_soon(granted, seconds=1)
    world.wait_grant(request_id, G.REVOKED, timeout=bound(world).total_seconds() + 10)
    assert world.roles("payments", ANN) == {DATA_READ}
    assert restarted.alive
    world.assert_atlas_matches_database()


@pytest.mark.parametrize("reached_atlas", [True, False], ids=["reached Atlas", "lost on the way"])
def test_a_revocation_interrupted_in_flight_finishes_within_the_lease_and_sweep_after_a_restart(
    world: ProcessWorld, reached_atlas: bool,
) -> None:
    app = world.spawn()
    request_id = approved_and_active(world, app)
    # given the grant expires and the process is waiting on Atlas to remove the role
    door = world.sb.hold("removeGroupUserRole")
    grant = world.grant(request_id)
    assert grant is not None
    expires_at = world.expire_soon(grant, seconds=1)
    door.wait_arrival(30)
    revoking = world.grant(request_id)
    assert revoking is not None and revoking.status is G.REVOKING and revoking.lease_owner
    # when it is killed mid-call, the call lands (or not), and a new process starts
    app.kill()
    door.release(through=reached_atlas)
    restarted = world.restart(app)
    # then the revocation finishes within the old lease plus a sweep of the restart, exactly once
    revoked = world.wait_grant(request_id, G.REVOKED, timeout=bound(world).total_seconds() + 10)
    assert restarted.ready_at is not None and revoked.revoked_at is not None
    assert revoked.revoked_at - max(expires_at, restarted.ready_at) <= bound(world)
    assert world.roles("payments", ANN) == {DATA_READ}
    assert world.succeeded("removeGroupUserRole") == 1
    assert world.audit_actions(request_id).count("revoked") == 1
    world.assert_atlas_matches_database()


def test_grants_that_expire_while_no_process_runs_are_revoked_as_the_next_one_starts(world: ProcessWorld) -> None:
    app = world.spawn()
    request_id = approved_and_active(world, app)
    grant = world.grant(request_id)
    assert grant is not None
    # given the only process dies, and the grant expires while none runs
    app.kill()
    expires_at = world.expire_soon(grant, seconds=0.5)
    wait(lambda: now() > expires_at + timedelta(seconds=1), what="the expiry")
    assert world.roles("payments", ANN) == {READ, DATA_READ}
    # when a process starts again
    restarted = world.restart(app)
    # then its start-up sweep revokes it before it even answers /healthz (a sweep later at most)
    revoked = world.wait_grant(request_id, G.REVOKED, timeout=world.sweep_seconds + 10)
    assert restarted.ready_at is not None and revoked.revoked_at is not None
    assert revoked.revoked_at <= restarted.ready_at + timedelta(seconds=world.sweep_seconds + SLACK)
    assert world.roles("payments", ANN) == {DATA_READ}
    assert world.succeeded("removeGroupUserRole") == 1
    world.assert_atlas_matches_database()


@pytest.mark.parametrize("reached_atlas", [True, False], ids=["reached Atlas", "lost on the way"])
def test_a_revoke_now_interrupted_in_flight_finishes_once_after_a_restart(
    world: ProcessWorld, reached_atlas: bool,
) -> None:
    app = world.spawn()
    request_id = approved_and_active(world, app)
    grant = world.grant(request_id)
    assert grant is not None and grant.expires_at is not None
    # given bob, an owner of payments, revokes ann's grant now, and the process is waiting on Atlas to remove it
    request = world.request(request_id)
    slack = world.driver(app)
    opened = len(world.sim.calls_to("views.open"))
    assert slack.block_action(BOB, "grant_revoke", str(grant.id),
                              message=(request.channel or "", request.message_ts or "")).status_code == 200
    wait(lambda: len(world.sim.calls_to("views.open")) > opened, what="the reason modal")
    modal = world.sim.last_view(user_id=BOB, callback_id="grant_revoke_reason")
    assert modal is not None
    door = world.sb.hold("removeGroupUserRole")
    answer = slack.submit(BOB, modal, {"revoke_reason": "INC-9: approved by mistake"})
    assert answer.status_code == 200 and not answer.content, answer.text
    door.wait_arrival(30)
    revoking = world.grant(request_id)
    assert revoking is not None and revoking.status is G.REVOKING and revoking.ended_as == "owner"
    assert revoking.expires_at is not None and revoking.expires_at < grant.expires_at  # ended now, not at expiry
    # when it is killed mid-call, the call lands (or not), and a new process starts
    app.kill()
    door.release(through=reached_atlas)
    world.restart(app)
    # then the revocation finishes within the lease plus a sweep, exactly once, back to the baseline
    revoked = world.wait_grant(request_id, G.REVOKED, timeout=bound(world).total_seconds() + 10)
    assert (revoked.ended_by, revoked.end_reason) == (BOB, "INC-9: approved by mistake")
    assert world.roles("payments", ANN) == {DATA_READ}
    assert world.succeeded("removeGroupUserRole") == 1
    actions = world.audit_actions(request_id)
    assert actions.count("revoked_by_owner") == 1 and actions.count("revoked") == 1
    wait(lambda: any("approved by mistake" in str(m.get("text")) for m in world.sim.dms(ANN)), what="ann's DM")
    world.assert_atlas_matches_database()


@pytest.mark.parametrize("reached_atlas", [True, False], ids=["reached Atlas", "lost on the way"])
def test_a_scheduled_start_interrupted_in_flight_is_granted_once_after_a_restart(
    world: ProcessWorld, reached_atlas: bool,
) -> None:
    app = world.spawn()
    # given ann's access scheduled to start in a few seconds, approved ahead
    slack = world.driver(app)
    opened = len(world.sim.calls_to("views.open"))
    assert slack.command(ANN).status_code == 200
    wait(lambda: len(world.sim.calls_to("views.open")) > opened, what="the request modal")
    view = world.sim.last_view(user_id=ANN, callback_id="access_request")
    assert view is not None
    options = slack.block_suggestion(ANN, "resource", "payments", view).json().get("options", [])
    option = next(o for o in options if " payments ·" in o["text"]["text"])
    assert slack.block_action(ANN, "resource", option, view=view).status_code == 200
    form = wait(lambda: (lambda v: v if v and v["hash"] != view["hash"] else None)(world.sim.views.get(view["id"])),
                what="the form")
    start = int(now().timestamp()) + 8
    answer = slack.submit(ANN, form, {"roles": [READ], "duration": "1h", "duration_custom": None,
                                      "justification": "INC-9: the maintenance window tonight", "start": start})
    assert answer.status_code == 200 and not answer.content, answer.text
    request_id = wait(lambda: world.newest_request_id(ANN), what="the request")
    world.posted(request_id)
    door = world.sb.hold("addGroupUserRole")
    assert world.click(app, BOB, "approve", request_id).status_code == 200
    waiting = world.wait_grant(request_id, G.GRANTING)
    assert waiting.attempts == 0 and world.succeeded("addGroupUserRole") == 0
    # when the start comes, the process is waiting on Atlas to add the role, and is killed there
    door.wait_arrival(60)
    assert now().timestamp() >= start
    app.kill()
    door.release(through=reached_atlas)
    world.restart(app)
    # then the grant completes once, from the start, and Atlas holds what the database says
    granted = world.wait_grant(request_id, G.ACTIVE, timeout=world.lease_seconds + world.sweep_seconds + 30)
    assert world.roles("payments", ANN) == {READ, DATA_READ}
    assert world.succeeded("addGroupUserRole") == 1
    assert granted.starts_at is not None and granted.starts_at.timestamp() >= start
    assert world.audit_actions(request_id).count("granted") == 1
    world.assert_atlas_matches_database()

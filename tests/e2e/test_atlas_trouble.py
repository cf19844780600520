"""Stories: Atlas answering 429 and 5xx while granting and revoking; revocation never gets lost."""

from __future__ import annotations

from datetime import timedelta

from access.model import GrantStatus
from tests.e2e.harness import ANN, BOB, CHANNEL, DATA_READ, READ, Harness, blocks_text, wait


def test_a_rate_limited_and_failing_grant_is_retried(world: Harness) -> None:
    # given Atlas will answer the role addition with a 429 (Retry-After: 1) and then a 503
    world.sb.faults.fail_next(status=429, retry_after=1, count=1, operation_id="addGroupUserRole")
    world.sb.faults.fail_next(status=503, count=1, operation_id="addGroupUserRole")

    # when ann's request is approved
    request = world.request(ANN, "payments", [READ])
    world.click(BOB, "approve", request)

    # then the client waited as told and tried again, and the grant went through
    world.wait_grant(request, GrantStatus.ACTIVE)
    assert world.project_roles("payments", ANN) == {DATA_READ, READ}
    assert world.sb.count("addGroupUserRole") == 3
    assert 1.0 in world.atlas_sleeps


def test_a_failing_revocation_backs_off_alerts_the_owners_and_succeeds_later(world: Harness) -> None:
    # given ann holds read-only on payments for an hour
    request = world.request(ANN, "payments", [READ])
    world.click(BOB, "approve", request)
    world.wait_grant(request, GrantStatus.ACTIVE)

    # and Atlas fails every removal for three sweeps (the client tries 6 times per sweep)
    world.sb.faults.fail_next(status=503, count=18, operation_id="removeGroupUserRole")

    # when the hour is up, the revocation fails and is scheduled again, not dropped
    world.expire(timedelta(hours=1))
    grant = world.get(request.id or 0)[1]
    assert grant is not None and grant.status is GrantStatus.FAILED and grant.attempts == 1
    assert grant.next_attempt_at is not None and grant.next_attempt_at > world.clock.now()
    assert world.project_roles("payments", ANN) == {DATA_READ, READ}
    assert "revocation failed (attempt 1): retrying" in world.message_text(request)
    assert world.runtime.worker.run_due() == 0  # backing off: nothing is due yet

    # when it fails twice more, the integration owners are alerted in the approvals channel
    world.expire(timedelta(seconds=2))
    world.expire(timedelta(seconds=4))
    grant = world.get(request.id or 0)[1]
    assert grant is not None and grant.attempts == 3
    alerts = [m for m in world.sim.messages(CHANNEL) if "<!subteam^S2>" in blocks_text(m)]
    assert len(alerts) == 1 and "failed 3 times" in alerts[0]["text"]

    # when Atlas recovers, the next attempt revokes, keeping the role ann had before
    world.expire(timedelta(seconds=8))
    wait(lambda: world.get(request.id or 0)[1].status is GrantStatus.REVOKED)  # type: ignore[union-attr]
    assert world.project_roles("payments", ANN) == {DATA_READ}
    assert "revoked at" in world.message_text(request)
    assert len([a for a in world.audit("revoke_failed")]) == 3

"""Stories: an undecided request reminds its approvers, then asks the integration owners, then expires."""

from __future__ import annotations

from datetime import timedelta

from access.model import RequestStatus
from bot.scheduler import Timers
from tests.e2e.harness import ANN, BOB, CHANNEL, READ, Harness, wait


def thread_texts(world: Harness, ts: str) -> list[str]:
    return [m["text"] for m in world.sim.messages(CHANNEL) if m.get("thread_ts") == ts]


def test_reminder_then_escalation_then_expiry_with_the_defaults(world: Harness) -> None:
    # given ann's request nobody decides (the flow has the default timeouts: 1h, 4h, 24h)
    request = world.request(ANN, "payments", [READ])
    timers = Timers(world.runtime)
    ts = request.message_ts or ""

    # when 59 minutes pass nothing happens
    world.clock.advance(timedelta(minutes=59))
    timers.pending_timeouts()
    assert thread_texts(world, ts) == []

    # when an hour has passed: the approvers are reminded in the thread, ann is told, the message shows it
    world.clock.advance(timedelta(minutes=1))
    timers.pending_timeouts()
    timers.pending_timeouts()  # a second round (or replica) does not repeat it
    (reminder,) = thread_texts(world, ts)
    assert "still waiting for your decision" in reminder and "<!subteam^S1>" in reminder
    assert any("reminded its approvers" in t for t in world.dm_texts(ANN))
    world.wait_message(request, "approvers reminded")

    # when four hours have passed: the integration owners (@atlas-admins) are asked
    world.clock.advance(timedelta(hours=3))
    world.restart()  # the steps are in the database: a new process carries on
    timers = Timers(world.runtime)
    timers.pending_timeouts()
    timers.pending_timeouts()
    assert len(thread_texts(world, ts)) == 2 and "<!subteam^S2>" in thread_texts(world, ts)[1]
    assert any("asked the integration owners" in t for t in world.dm_texts(ANN))
    world.wait_message(request, "escalated to the integration owners")

    # when a day has passed: the request expires, ann is told, and nobody can approve it any more
    world.clock.advance(timedelta(hours=20))
    timers.pending_timeouts()
    assert world.get(request.id or 0)[0].status is RequestStatus.EXPIRED
    assert any("expired without a decision" in t for t in world.dm_texts(ANN))
    world.wait_message(request, "Expired without a decision")
    world.click(BOB, "approve", request)
    wait(lambda: any("ALREADY EXPIRED" in t.upper() for t in world.ephemeral_texts(BOB)))
    assert [e.action for e in world.audit() if e.action.startswith("pending_")] == [
        "pending_reminded", "pending_escalated", "pending_expired"]

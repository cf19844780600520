"""Stories: a DM with Extend before access ends (once, across restarts), and a DM when it has been revoked."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from access.model import GrantStatus
from bot.scheduler import Timers
from tests.e2e.harness import ANN, DATA_READ, Harness, wait
from tests.e2e.test_extend import active_grant


def reminders(world: Harness) -> list[dict[str, Any]]:
    return [m for m in world.sim.dms(ANN) if "ends at" in m.get("text", "")]


def test_a_reminder_with_extend_comes_before_expiry_and_only_once(world: Harness) -> None:
    # given ann's 1h grant
    request, grant = active_grant(world)
    timers = Timers(world.runtime)

    # when 40 minutes pass: no reminder yet (the default lead is 15 minutes)
    world.clock.advance(timedelta(minutes=40))
    timers.remind_expiring()
    assert reminders(world) == []

    # when 50 minutes have passed
    world.clock.advance(timedelta(minutes=10))
    timers.remind_expiring()

    # then she has one reminder, with Extend and "I'm done" for this grant
    (reminder,) = reminders(world)
    buttons = {e["action_id"]: e["value"] for b in reminder["blocks"] for e in b.get("elements", [])}
    assert buttons == {"home_extend": str(grant.id), "home_done": str(grant.id)}
    # and neither another round nor a restarted process sends it again
    timers.remind_expiring()
    world.restart()
    Timers(world.runtime).remind_expiring()
    assert len(reminders(world)) == 1 and len(world.audit("expiry_reminded")) == 1

    # when she clicks Extend in the reminder, the extension modal opens
    ts = reminder["ts"]
    channel = world.sim.im_channel(ANN)
    world.slack.block_action(ANN, "home_extend", str(grant.id), message=(channel, ts))
    assert wait(lambda: world.sim.last_view(user_id=ANN, callback_id="extend_grant"))

    # when the grant expires, she is told it was revoked
    world.expire(timedelta(minutes=11))
    assert world.get(request.id or 0)[1].status is GrantStatus.REVOKED  # type: ignore[union-attr]
    assert world.project_roles("payments", ANN) == {DATA_READ}
    wait(lambda: any("has ended" in text for text in world.dm_texts(ANN)))

"""Stories: ann schedules access for a maintenance window; it is approved ahead, survives a restart, is granted at
the start and revoked at the start plus its duration; a start in the past or too far ahead is refused."""

from __future__ import annotations

from datetime import timedelta

from access.model import GrantStatus
from tests.e2e.harness import ANN, BOB, DATA_READ, JUSTIFICATION, READ, Harness, blocks_text, wait

H = timedelta(hours=1)


def ask(world: Harness, start_in: timedelta) -> tuple[int, dict[str, object]]:
    form = world.pick(ANN, world.open_modal(ANN), "payments")
    start = int((world.clock.now() + start_in).timestamp())
    answer = world.slack.submit(ANN, form, {"roles": [READ], "duration": "1h", "duration_custom": None,
                                            "justification": JUSTIFICATION, "start": start})
    return answer.status_code, (answer.json() if answer.content else {})


def test_scheduled_access_is_approved_ahead_granted_at_the_start_and_revoked_after(world: Harness) -> None:
    start = world.clock.now() + 2 * H
    assert ask(world, 2 * H) == (200, {})
    request = wait(lambda: world.posted(world.latest_request_id(ANN)))
    assert request.starts_at == start and "(scheduled)" in world.message_text(request)
    wait(lambda: any("starting" in t for t in world.dm_texts(ANN)))
    # approved ahead: told when it starts, nothing in Atlas yet, the Home shows it scheduled
    world.click(BOB, "approve", request)
    wait(lambda: any("It is granted at" in t for t in world.dm_texts(ANN)))
    assert world.get(request.id or 0)[1].status is GrantStatus.GRANTING  # type: ignore[union-attr]
    assert world.project_roles("payments", ANN) == {DATA_READ}
    assert world.slack.app_home_opened(ANN).status_code == 200
    wait(lambda: "scheduled: granted at" in blocks_text(world.sim.home(ANN) or {}))
    # the start survives a restart of the process
    world.restart()
    assert world.expire(2 * H - timedelta(seconds=1)) == 0
    assert world.project_roles("payments", ANN) == {DATA_READ}
    world.expire(timedelta(seconds=1))
    granted = world.wait_grant(request, GrantStatus.ACTIVE)
    assert (granted.starts_at, granted.expires_at) == (start, start + H)
    assert world.project_roles("payments", ANN) == {READ, DATA_READ}
    world.expire(H)
    world.wait_grant(request, GrantStatus.REVOKED)
    assert world.project_roles("payments", ANN) == {DATA_READ}


def test_a_start_in_the_past_or_too_far_ahead_is_refused_in_the_modal(world: Harness) -> None:
    for start_in, words in ((-H, "in the past"), (timedelta(days=8), "at most 7d ahead")):
        status, answer = ask(world, start_in)
        assert status == 200 and words in answer["errors"]["start"]  # type: ignore[index]
    assert world.row_count("access_request") == 0

"""Stories: /atlas-sync acks at once, then one message counts what Atlas has as it reads it, and ends with what
changed and which projects the owner-tag rule cannot route. Trouble comes back as a sentence; one sync at a time.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.scheduler import Timers
from bot.slack_sim import FakeSlackWebAPI
from tests.e2e.admin_harness import AdminHarness, admin_world
from tests.e2e.harness import DAN, blocks_text, wait

GENERAL = "C0GENERAL"
COUNTS = re.compile(r"reading Atlas… (\d+) organizations, (\d+) projects, (\d+) clusters, (\d+) users")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[AdminHarness]:
    with admin_world(tmp_path) as harness:
        yield harness


def posted(sim: FakeSlackWebAPI, channel: str = GENERAL) -> list[str]:
    return [blocks_text(m) for m in sim.messages(channel)]


def final_text(world: AdminHarness, channel: str = GENERAL, phrase: str = "synced") -> str:
    """The sync message once it is finished (it ends with ✅ or ❌ for every integration)."""
    def done() -> str | None:
        texts = posted(world.sim, channel)
        return texts[-1] if texts and ("synced" in texts[-1] or ":x:" in texts[-1]) and phrase in texts[-1] else None

    return wait(done, timeout=10)


def progress_seen(world: AdminHarness) -> list[tuple[int, ...]]:
    """The counts each chat.update of the sync message showed while Atlas was read, in order."""
    seen = []
    for call in world.sim.calls_to("chat.update"):
        match = COUNTS.search(str(call.args.get("text", "")) + str(call.args.get("blocks", "")))
        if match:
            seen.append(tuple(int(n) for n in match.groups()))
    return seen


def test_a_sync_shows_progress_then_what_changed_and_the_owner_tag_lint(world: AdminHarness) -> None:
    # given Atlas is slow, and its rate limit lets 2 calls through and then 2 a second (a sync takes 4 calls)
    world.sb.faults.latency = 0.01
    world.sb.faults.rate_limit(capacity=2, refill_per_second=2)

    # when dan types /atlas-sync prod in #general
    started = time.monotonic()
    response = world.slack.command(DAN, command="/atlas-sync", text="prod", channel_id=GENERAL)

    # then Slack gets its ack at once, and one message is posted there and kept up to date
    assert response.status_code == 200 and time.monotonic() - started < 1.0
    text = final_text(world)
    assert len(world.sim.calls_to("chat.postMessage")) == 1 and len(posted(world.sim)) == 1

    # it counted organizations, projects, clusters and users as it went, never going backwards
    seen = progress_seen(world)
    assert len(seen) >= 3 and seen == sorted(seen) and seen[0] < seen[-1]
    assert any(counts[1] < 7 for counts in seen)  # shown before every project was read

    # and it ends with the totals, what is new, and the projects the owner tag cannot route
    assert "Sync started by <@U4>" in text
    assert "*prod*: synced: 1 organizations, 7 projects, 3 clusters, 5 users" in text
    assert "new projects (1): orphans" in text and "new clusters (3)" in text
    assert "no `owner` tag (2): playground, search" in text
    assert "unknown user group (1): ledger (@ghost-team)" in text
    assert "user group with no members (1): orphans (@empty-team)" in text

    # Atlas did rate limit it, and the client waited as told and carried on
    assert any(call.status == 429 for call in world.sb.calls) and world.atlas_sleeps
    assert [e.actor for e in world.audit("synced")][-1] == DAN


@pytest.mark.parametrize(("trouble", "said"), [
    ("bad_credentials", "Atlas refused the credentials of prod (HTTP 401"),
    ("atlas_down", "Atlas answered with an error for prod (HTTP 503"),
    ("rate_limited", "Atlas kept rate limiting prod (HTTP 429"),
])
def test_atlas_trouble_comes_back_as_a_sentence(world: AdminHarness, trouble: str, said: str) -> None:
    if trouble == "bad_credentials":
        world.sb.remove_api_key(public_key=world.atlas.public_key)
    else:
        world.sb.faults.fail_next(status=503 if trouble == "atlas_down" else 429, count=100)

    world.slack.command(DAN, command="/atlas-sync", text="prod")

    text = final_text(world, phrase=said)
    assert f":x: *prod*: {said}" in text and "Traceback" not in text and "File \"" not in text
    assert world.audit("sync_failed")
    with world.runtime.store.unit_of_work() as uow:
        assert uow.integrations.status("prod")["last_sync_error"]


def test_a_second_sync_while_one_runs_says_so_instead(world: AdminHarness) -> None:
    # given a sync that takes a while is running
    world.sb.faults.latency = 0.1
    world.slack.command(DAN, command="/atlas-sync", text="prod")
    wait(lambda: posted(world.sim))

    # when dan asks again
    world.slack.command(DAN, command="/atlas-sync")

    # then he is told it is already running, and no second message or sync is started
    wait(lambda: any("already running" in text for text in world.responses()))
    final_text(world)
    assert len(world.sim.calls_to("chat.postMessage")) == 1
    assert len(world.audit("synced")) == 2  # the harness's first sync, and this one


def test_a_scheduled_sync_running_counts_as_running(tmp_path: Path) -> None:
    with admin_world(tmp_path, sync_interval_minutes=7) as world:
        # the interval is configurable
        timers = Timers(world.runtime)
        timers.start()
        try:
            job = timers._scheduler.get_job("sync")  # noqa: SLF001 - the scheduler is the thing under test
            assert job is not None and job.trigger.interval == timedelta(minutes=7)
        finally:
            timers.stop()

        # given the scheduled sync is running
        world.sb.faults.latency = 0.1
        scheduled = threading.Thread(target=Timers(world.runtime).sync_all)
        scheduled.start()
        wait(lambda: world.runtime.sync.running("prod"))

        # when an admin asks for a sync, then it says so, and the scheduled one finishes
        world.slack.command(DAN, command="/atlas-sync", text="prod")
        wait(lambda: any("already running" in text for text in world.responses()))
        scheduled.join(timeout=10)
        assert [e.actor for e in world.audit("synced")][-1] == "schedule"


def test_without_a_name_every_enabled_integration_is_synced_and_an_unknown_name_is_refused(
    world: AdminHarness,
) -> None:
    world.slack.command(DAN, command="/atlas-sync", text="nope")
    wait(lambda: any("I don't know an enabled integration named `nope`" in t and "prod" in t
                     for t in world.responses()))
    world.slack.command(DAN, command="/atlas-sync")
    assert "*prod*: synced" in final_text(world)


def test_the_message_comes_as_a_dm_where_the_bot_may_not_post(world: AdminHarness) -> None:
    world.sim.fail_next("chat.postMessage", error="not_in_channel")
    world.slack.command(DAN, command="/atlas-sync", text="prod")
    wait(lambda: any("*prod*: synced" in blocks_text(m) for m in world.sim.dms(DAN)))


def test_sync_now_from_the_admin_home_reports_in_a_dm(world: AdminHarness) -> None:
    home = world.open_admin()
    world.slack.block_action(DAN, "admin_sync_integration", "prod", view=home)
    world.home(home["id"], phrase="Syncing *prod*")
    dm = wait(lambda: next((blocks_text(m) for m in world.sim.dms(DAN) if "*prod*: synced" in blocks_text(m)), None))
    assert "no `owner` tag" in dm

"""HomeRefresher: Homes published off the caller's thread, coalesced per person, the last change always shown."""

from __future__ import annotations

import threading
import time

from bot.slack.home_refresh import HomeRefresher
from tests.fakes.budget import MemoryRateBudget


class Recorder:
    """The publish side: records who was published when, and can hold a publish until told."""

    def __init__(self) -> None:
        self.published: list[tuple[str, float]] = []
        self.hold = threading.Event()
        self.hold.set()
        self.started = threading.Event()

    def __call__(self, user_id: str) -> None:
        self.started.set()
        self.hold.wait(5)
        self.published.append((user_id, time.monotonic()))

    def who(self) -> list[str]:
        return [user for user, _ in self.published]


def test_marking_returns_at_once_and_the_home_is_published_on_another_thread() -> None:
    recorder = Recorder()
    recorder.hold.clear()
    refresher = HomeRefresher(recorder, spacing=0.05)
    began = time.monotonic()
    refresher("U1")
    assert time.monotonic() - began < 0.5 and recorder.started.wait(5)  # the caller did not wait on the publish
    recorder.hold.set()
    assert refresher.idle(5) and recorder.who() == ["U1"]
    refresher.close()


def test_many_changes_for_one_person_publish_once_per_spacing_and_the_last_follows_the_last_change() -> None:
    # given a Home being published (the first change), held mid-publish
    recorder = Recorder()
    recorder.hold.clear()
    refresher = HomeRefresher(recorder, spacing=0.2)
    refresher("U2")
    assert recorder.started.wait(5)
    # when a hundred more changes concern the same person meanwhile
    for _ in range(100):
        refresher("U2")
    recorder.hold.set()
    # then the Home is published twice: the first, and once more after the spacing, for the changes since
    assert refresher.idle(5)
    assert recorder.who() == ["U2", "U2"]
    (_, first), (_, second) = recorder.published
    assert second - first >= 0.2 - 0.01
    refresher.close()


def test_people_do_not_wait_on_each_others_spacing() -> None:
    recorder = Recorder()
    refresher = HomeRefresher(recorder, spacing=30.0)
    refresher("U1")
    assert refresher.idle(5)
    refresher("U2")
    refresher("U3")
    assert refresher.idle(5) and recorder.who() == ["U1", "U2", "U3"]
    refresher.close()


def test_a_home_that_cannot_be_built_is_tried_again_later_without_holding_up_the_others() -> None:
    # given a Home that fails to build twice (the database away, say), then builds
    published: list[str] = []
    failures = {"UBAD": 2}

    def flaky(user_id: str) -> None:
        if failures.get(user_id, 0) > 0:
            failures[user_id] -= 1
            raise RuntimeError("database unreachable")
        published.append(user_id)

    refresher = HomeRefresher(flaky, spacing=0.0, retry=0.05)
    # when it and another person's Home go stale
    refresher("UBAD")
    refresher("U1")
    # then the other is published at once, and the failing one once it builds
    assert refresher.idle(5)
    assert published == ["U1", "UBAD"] and failures["UBAD"] == 0
    refresher.close()


def test_close_publishes_what_is_stale_then_ignores_later_changes() -> None:
    recorder = Recorder()
    refresher = HomeRefresher(recorder, spacing=0.0)
    refresher("U1")
    refresher.close()
    refresher("U2")
    time.sleep(0.05)
    assert recorder.who() == ["U1"]


def test_close_publishes_a_home_still_within_its_spacing_at_once() -> None:
    # given a Home published just now and changed again, its next publish 10 s away by the spacing
    recorder = Recorder()
    refresher = HomeRefresher(recorder, spacing=10.0)
    refresher("U1")
    assert refresher.idle(5)
    refresher("U1")
    # when the process shuts down, then the last change is published without waiting out the spacing
    began = time.monotonic()
    refresher.close(timeout=5)
    assert recorder.who() == ["U1", "U1"] and time.monotonic() - began < 1.0


def test_a_burst_for_many_people_is_paced_to_slacks_rate_after_the_first_few() -> None:
    # given a pace of 600 a minute (10 a second) after a burst of 3
    recorder = Recorder()
    refresher = HomeRefresher(recorder, spacing=0.0, budget=MemoryRateBudget(now=time.monotonic), per_minute=600,
                              burst=3)
    # when eight people's Homes go stale at once
    for i in range(8):
        refresher(f"U{i}")
    assert refresher.idle(5)
    # then all are published, oldest change first: three at once, the other five about 0.1 s apart
    assert recorder.who() == [f"U{i}" for i in range(8)]
    times = [t for _, t in recorder.published]
    assert times[2] - times[0] < 0.05
    assert times[7] - times[2] >= 5 * 0.1 - 0.03


def test_changes_that_cannot_be_published_sooner_do_not_wake_the_refresher() -> None:
    # given a refresher whose pace allows no publish for a minute (its burst spent on U0, U1 waiting for the pace),
    # and one whose spacing holds U1 for a minute: each thread waiting, counting how often it reads the clock (once
    # a wake)
    looks: list[str] = []

    def clock() -> float:
        looks.append(threading.current_thread().name)
        return time.monotonic()

    recorder = Recorder()
    paced = HomeRefresher(recorder, spacing=0.0, budget=MemoryRateBudget(now=clock), per_minute=1, burst=1,
                          monotonic=clock)
    paced("U0")
    assert recorder.started.wait(5)
    paced("U1")
    other = Recorder()
    spaced = HomeRefresher(other, spacing=60.0, monotonic=clock)
    spaced("U1")
    assert spaced.idle(5)
    spaced("U1")
    time.sleep(0.1)
    before = looks.count("home-refresh")
    # when a hundred more people's Homes go stale on the first (none can go before the pace allows), and the same
    # person's Home a hundred times more on the second (not before its spacing)
    for i in range(100):
        paced(f"U{i + 2}")
        spaced("U1")
        time.sleep(0.001)
    time.sleep(0.1)
    # then neither thread was woken for nothing
    assert looks.count("home-refresh") - before == 0
    # and a Home that can go at once still does
    spaced("U2")
    deadline = time.monotonic() + 5
    while "U2" not in other.who() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert other.who() == ["U1", "U2"]
    paced.close(timeout=0.1)
    spaced.close(timeout=0.1)


def test_two_replicas_refreshers_keep_to_one_pace_together() -> None:
    # given two replicas' refreshers drawing on one budget (the database's, in the app): a burst of 4, then 1 a minute
    budget = MemoryRateBudget(now=time.monotonic)
    first, second = Recorder(), Recorder()
    refreshers = [HomeRefresher(recorder, spacing=0.0, budget=budget, per_minute=1, burst=4)
                  for recorder in (first, second)]
    # when each has ten people's Homes to publish
    for i in range(10):
        for name, refresher in zip("ab", refreshers, strict=True):
            refresher(f"U{name}{i}")
    deadline = time.monotonic() + 5
    while len(first.published) + len(second.published) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    # then the two together published the burst, not a burst each, each oldest first
    assert len(first.published) + len(second.published) == 4
    assert first.who() == [f"Ua{i}" for i in range(len(first.published))]
    assert second.who() == [f"Ub{i}" for i in range(len(second.published))]
    for refresher in refreshers:
        refresher.close(timeout=0.1)


def test_a_pace_that_cannot_be_read_holds_the_publishes_and_loses_no_home() -> None:
    # given a budget that fails once (the database away), then allows everything
    class Flaky:
        def __init__(self) -> None:
            self.calls = 0

        def take(self, name: str, *, per_second: float, burst: float) -> float:
            self.calls += 1
            if self.calls == 1:
                raise ConnectionError("the database is away")
            return 0.0

    recorder = Recorder()
    refresher = HomeRefresher(recorder, spacing=0.0, budget=Flaky(), retry=0.2)
    began = time.monotonic()
    # when a Home goes stale
    refresher("U1")
    # then it is published once the retry's wait is over, not lost
    assert refresher.idle(5) and recorder.who() == ["U1"]
    assert recorder.published[0][1] - began >= 0.15
    refresher.close()

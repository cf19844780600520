"""The RateBudget contract, on the memory fake, SQLite and PostgreSQL: a bucket gives its burst at once, then one token
per 1/rate seconds, saying how long until the next; buckets are apart; replicas taking at once share one bucket."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from access.ports import RateBudget
from storage.budgets import SqlRateBudget
from tests.contracts.conftest import STORES, sql_engine
from tests.fakes.budget import MemoryRateBudget


class Wall:
    def __init__(self) -> None:
        self.seconds = 1_765_000_000.0

    def __call__(self) -> float:
        return self.seconds


@pytest.fixture(params=STORES)
def budgets(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Wall, RateBudget, RateBudget]]:
    """The wall clock, and two replicas' budgets on one store."""
    wall = Wall()
    if request.param == "fake":
        fake = MemoryRateBudget(now=wall)
        yield wall, fake, fake
        return
    engine = sql_engine(request, tmp_path)
    yield wall, SqlRateBudget(engine, now=wall), SqlRateBudget(engine, now=wall)
    engine.dispose()


def test_the_burst_goes_at_once_then_a_token_a_period_and_the_wait_is_told(
        budgets: tuple[Wall, RateBudget, RateBudget]) -> None:
    wall, budget, _ = budgets
    # given a bucket of 3 refilled at 2 a second: its first three takes go at once
    assert [budget.take("views.publish", per_second=2, burst=3) for _ in range(3)] == [0.0, 0.0, 0.0]
    # then the fourth is told to wait half a second, and taking nothing, is told so again
    assert budget.take("views.publish", per_second=2, burst=3) == pytest.approx(0.5)
    assert budget.take("views.publish", per_second=2, burst=3) == pytest.approx(0.5)
    # when a quarter of a second has passed, a quarter is left to wait; after half a second one goes, and one only
    wall.seconds += 0.25
    assert budget.take("views.publish", per_second=2, burst=3) == pytest.approx(0.25)
    wall.seconds += 0.25
    assert budget.take("views.publish", per_second=2, burst=3) == 0.0
    assert budget.take("views.publish", per_second=2, burst=3) == pytest.approx(0.5)
    # and a long quiet fills the bucket to its burst, no more
    wall.seconds += 3600
    assert [budget.take("views.publish", per_second=2, burst=3) for _ in range(4)][-2:] == [0.0, pytest.approx(0.5)]


def test_buckets_are_apart_and_a_clock_going_back_takes_nothing_away(
        budgets: tuple[Wall, RateBudget, RateBudget]) -> None:
    wall, budget, _ = budgets
    assert budget.take("a", per_second=1, burst=1) == 0.0
    assert budget.take("a", per_second=1, burst=1) == pytest.approx(1.0)
    assert budget.take("b", per_second=1, burst=1) == 0.0
    wall.seconds -= 10  # another replica's clock a little behind: no refill, no debt
    assert budget.take("a", per_second=1, burst=1) == pytest.approx(1.0)


def test_two_replicas_taking_at_once_share_the_bucket(budgets: tuple[Wall, RateBudget, RateBudget]) -> None:
    _, first, second = budgets
    start, taken = threading.Barrier(8), []

    def replica(budget: RateBudget) -> None:
        start.wait(5)
        for _ in range(3):
            taken.append(budget.take("views.publish", per_second=0.001, burst=5))

    threads = [threading.Thread(target=replica, args=(first if i % 2 else second,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    # then of the 24 takes, the burst's five went, whichever replica asked
    assert len(taken) == 24 and taken.count(0.0) == 5

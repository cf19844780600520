"""Paging stops where Atlas says the list ends; retry waits honour Retry-After and stay bounded."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from atlas.operations import op
from atlas.paging import ITEMS_PER_PAGE, has_more, read_pages
from atlas.retry import RetryPolicy, is_idempotent, parse_retry_after

NOW = datetime(2026, 1, 1, tzinfo=UTC)
FULL = ITEMS_PER_PAGE


@pytest.mark.parametrize(("body", "page_items", "seen", "more"), [
    ({"totalCount": 1203}, FULL, 500, True),
    ({"totalCount": 1203}, 203, 1203, False),  # a short page ends the list
    ({"totalCount": 5000}, FULL, 5000, False),  # exactly a multiple of 500: no empty extra page
    ({"links": [{"rel": "self"}, {"rel": "next"}]}, FULL, 500, True),
    ({"links": [{"rel": "self"}]}, FULL, 500, False),
    ({"totalCount": 500, "links": [{"rel": "next"}]}, FULL, 500, True),  # totalCount is an estimate
    ({}, FULL, 500, True),  # nothing to go by: only a short page ends it
    ({}, 0, 0, False),
])
def test_has_more(body: dict, page_items: int, seen: int, more: bool) -> None:
    assert has_more(body, page_items=page_items, seen=seen) is more


class Pages:
    """A list of `actual` items served 500 a page, announcing `announced` as totalCount; records each fetch."""

    def __init__(self, actual: int, announced: int | None = None, *, failing: int | None = None) -> None:
        self.actual, self.announced, self.failing = actual, actual if announced is None else announced, failing
        self.asked: list[int] = []
        self._lock = threading.Lock()

    def __call__(self, page: int) -> dict:
        with self._lock:
            self.asked.append(page)
        if page == self.failing:
            raise RuntimeError(f"page {page} failed after its retries")
        start = (page - 1) * FULL
        links = [{"rel": "self"}] + ([{"rel": "next"}] if start + FULL < self.actual else [])
        return {"results": list(range(start, min(start + FULL, self.actual))), "totalCount": self.announced,
                "links": links}


@pytest.mark.parametrize("read_ahead", [0, 1, 4])
@pytest.mark.parametrize(("actual", "announced"), [(0, None), (500, None), (4321, None), (5000, None),
                                                   (2600, 1200), (1100, 4000)])  # totalCount is an estimate
def test_read_ahead_yields_every_item_once_in_order(read_ahead: int, actual: int, announced: int | None) -> None:
    pages = Pages(actual, announced)
    assert list(read_pages(pages, read_ahead=read_ahead)) == list(range(actual))
    assert sorted(set(pages.asked)) == sorted(pages.asked)  # no page asked twice
    if announced is None:
        assert len(pages.asked) == max(1, -(-actual // FULL))


def test_a_page_that_fails_ends_the_read_without_asking_earlier_pages_again() -> None:
    pages = Pages(4000, failing=5)
    items = read_pages(pages, read_ahead=3)
    with pytest.raises(RuntimeError, match="page 5"):
        for _ in items:
            pass
    assert sorted(pages.asked) == sorted(set(pages.asked)) and pages.asked.count(1) == 1
    assert max(pages.asked) <= 5 + 3  # at most `read_ahead` pages beyond the one that failed were started


def test_a_read_ahead_closed_from_one_of_its_own_threads_lets_go_instead_of_waiting_for_itself() -> None:
    # a generator nobody closed is closed by whichever thread collects it: here, one that is fetching a page for it
    pages, suspended, closed, failures = Pages(4000), threading.Event(), threading.Event(), []
    items: list = []

    def fetch(page: int) -> dict:
        if page == 3:
            suspended.wait(5)
            try:
                reader.close()
            except Exception as error:  # noqa: BLE001 - what the test looks for
                failures.append(error)
            closed.set()
        return pages(page)

    reader = read_pages(fetch, read_ahead=2)
    items.append(next(reader))
    while len(items) <= FULL:  # into page 2: pages 2 and 3 were asked for ahead
        items.append(next(reader))
    suspended.set()  # the reader is suspended at an item of page 2
    assert closed.wait(5)
    assert failures == []
    with pytest.raises(StopIteration):
        next(reader)


@pytest.mark.parametrize(("operation_id", "idempotent"), [
    ("getOrg", True), ("removeOrgUser", True), ("addOrgUserRole", True), ("removeGroupUserRole", True),
    ("createOrgUser", False), ("addGroupUsers", False), ("updateOrgUser", False),
])
def test_idempotent_operations(operation_id: str, idempotent: bool) -> None:
    assert is_idempotent(op(operation_id)) is idempotent


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert parse_retry_after("7", now=NOW) == 7.0
    assert parse_retry_after(format_datetime(NOW + timedelta(seconds=30), usegmt=True), now=NOW) == 30.0
    assert parse_retry_after("soon", now=NOW) is None
    assert parse_retry_after(None, now=NOW) is None
    assert parse_retry_after("-3", now=NOW) == 0.0


def test_429_waits_retry_after_bounded_by_the_cap_for_any_method() -> None:
    policy = RetryPolicy(max_retries=3, backoff_cap=10.0)
    assert policy.after_status(status=429, retry_after="4", attempt=0, idempotent=False, now=NOW) == 4.0
    assert policy.after_status(status=429, retry_after="600", attempt=0, idempotent=False, now=NOW) == 10.0
    assert policy.after_status(status=429, retry_after="4", attempt=3, idempotent=False, now=NOW) is None


def test_5xx_and_lost_answers_are_retried_only_when_safe() -> None:
    policy = RetryPolicy(max_retries=3, rng=random.Random(1))
    assert policy.after_status(status=503, retry_after=None, attempt=0, idempotent=True, now=NOW) is not None
    assert policy.after_status(status=503, retry_after=None, attempt=0, idempotent=False, now=NOW) is None
    assert policy.after_status(status=404, retry_after=None, attempt=0, idempotent=True, now=NOW) is None
    assert policy.after_no_answer(error=httpx.ReadTimeout("t"), attempt=0, idempotent=False) is None
    assert policy.after_no_answer(error=httpx.ReadTimeout("t"), attempt=0, idempotent=True) is not None
    # A refused connection never carried the request, so even a create may be sent again.
    assert policy.after_no_answer(error=httpx.ConnectError("refused"), attempt=0, idempotent=False) is not None


def test_backoff_is_full_jitter_under_an_exponential_cap() -> None:
    policy = RetryPolicy(backoff_base=0.5, backoff_cap=3.0, rng=random.Random(7))
    for attempt in range(8):
        waits = [policy.backoff(attempt) for _ in range(50)]
        assert all(0.0 <= w <= min(3.0, 0.5 * 2**attempt) for w in waits)

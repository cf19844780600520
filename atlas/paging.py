"""Reading a paged Atlas list: `{results, totalCount, links}` read the way Atlas documents it, optionally ahead.

A page is one call the client retries on its own, so a page that fails mid-way (429, 503) is asked for again
without reading the earlier pages again. With read-ahead, the pages after the first are fetched on a few
threads while the caller reads the current one, and handed over in page order; at most `read_ahead` pages wait
in memory at any time.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

ITEMS_PER_PAGE = 500  # the most Atlas serves in one page

Fetch = Callable[[int], dict[str, Any]]  # page number (from 1) -> the page's body


def has_more(body: dict[str, Any], *, page_items: int, seen: int) -> bool:
    """Whether to ask for the next page after one that held `page_items` items, `seen` in all so far.

    A short page always ends the list. A `next` link says there is more. Otherwise `totalCount` decides (so a
    list of exactly 5,000 takes 10 calls, not 11); without either, only a short page ends it.
    """
    if page_items < ITEMS_PER_PAGE:
        return False
    links = body.get("links")
    if isinstance(links, list) and any(isinstance(link, dict) and link.get("rel") == "next" for link in links):
        return True
    total = body.get("totalCount")
    if isinstance(total, int):
        return seen < total
    return not isinstance(links, list)


def read_pages(fetch: Fetch, *, read_ahead: int = 0) -> Generator[dict[str, Any], None, None]:
    """Every item of the list, page by page; `read_ahead` > 0 fetches up to that many next pages in advance.

    The pages to read ahead are those `totalCount` of the first page announces (it is an estimate: a list that
    turns out longer goes on page by page, one that turns out shorter ends at its first short page, and the
    pages already asked for past it are dropped).
    """
    body = fetch(1)
    results = body.get("results") or []
    yield from results
    seen = len(results)
    if not has_more(body, page_items=len(results), seen=seen):
        return
    page = 2
    total = body.get("totalCount")
    if read_ahead > 0 and isinstance(total, int) and total > seen:
        last = math.ceil(total / ITEMS_PER_PAGE)
        ahead = _ReadAhead(fetch, first=page, last=last, width=read_ahead)
        try:
            for body in ahead:
                results = body.get("results") or []
                yield from results
                seen += len(results)
                page += 1
                if not has_more(body, page_items=len(results), seen=seen):
                    return
        finally:
            ahead.close()
    while True:  # no read-ahead, or the list went on past what totalCount announced
        body = fetch(page)
        results = body.get("results") or []
        yield from results
        seen += len(results)
        if not has_more(body, page_items=len(results), seen=seen):
            return
        page += 1


class _ReadAhead:
    """Pages `first..last` fetched `width` at a time on their own threads, yielded in order."""

    def __init__(self, fetch: Fetch, *, first: int, last: int, width: int) -> None:
        self._fetch = fetch
        self._next = first
        self._last = last
        self._width = width
        self._pool = ThreadPoolExecutor(max_workers=min(width, last - first + 1),
                                        thread_name_prefix="atlas-pages")
        self._pending: deque[Future[dict[str, Any]]] = deque()
        self._workers: set[int] = set()  # the pool's thread idents, as they run a fetch

    def _run(self, page: int) -> dict[str, Any]:
        self._workers.add(threading.get_ident())
        return self._fetch(page)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        self._fill()
        while self._pending:
            body = self._pending.popleft().result()  # a page that failed after its retries ends the list here
            self._fill()
            yield body

    def _fill(self) -> None:
        while self._next <= self._last and len(self._pending) < self._width:
            self._pending.append(self._pool.submit(self._run, self._next))
            self._next += 1

    def close(self) -> None:
        """Drop the pages not yet started, and wait for those in flight (their threads hold client slots).

        Not from one of the pool's own threads (a generator nobody closed is closed by whichever thread collects
        it): that one cannot wait for itself, so the pool is let go and its threads end when their fetch does.
        """
        self._pool.shutdown(wait=threading.get_ident() not in self._workers, cancel_futures=True)

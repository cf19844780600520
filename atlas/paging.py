"""When a paged Atlas list has another page: `{results, totalCount, links}` read the way Atlas documents it."""

from __future__ import annotations

from typing import Any

ITEMS_PER_PAGE = 500  # the most Atlas serves in one page


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

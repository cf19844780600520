"""Several resources in one request: the rules that hold the items together.

A request of several resources is a group of ordinary requests, one per resource (an *item*), sharing a
`group_id`. Each item is checked as if asked alone (a flow must let the person ask for it, with those roles, for
that long; nobody approves their own; quorum and steps are its flow's), has its own approvers, decision, grant and
revocation, and all of them share one end, `ends_at`: the submission (or the scheduled start) plus the duration
asked. An item approved later is granted at once and still ends then; one approved for less ends sooner.

The approval messages: one per owner group (the items whose approvers are the same people, in the same channel),
numbered by `group_part`, each listing its items with their own buttons and re-rendered from the stored items.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from access.config import MAX_ITEMS
from access.entities import AccessRequest
from access.errors import FieldErrors
from access.model import RequestStatus
from access.ports import StaleWrite, Store

ITEMS = "resources"  # the FieldErrors key of the list of resources itself (too many, twice the same)
SHARED_FIELDS = ("duration", "justification", "start", "network", "emergency", "on_behalf")


@dataclass(frozen=True, kw_only=True)
class ItemAsked:
    """One resource of a request of several, and the roles asked for on it."""

    integration: str
    resource_id: str
    roles: tuple[str, ...]


def check_items(items: Sequence[ItemAsked]) -> None:
    """At least one resource, at most MAX_ITEMS, each once."""
    if not items:
        raise FieldErrors({ITEMS: "Pick at least one resource."})
    if len(items) > MAX_ITEMS:
        raise FieldErrors({ITEMS: f"One request may name at most {MAX_ITEMS} resources: you picked {len(items)}. "
                                  "Ask for the rest in another request."})
    seen = set()
    for item in items:
        key = (item.integration, item.resource_id)
        if key in seen:
            raise FieldErrors({ITEMS: "You picked the same resource twice: pick each once, with all its roles."})
        seen.add(key)


def roles_key(index: int) -> str:
    """The FieldErrors key of the roles of the `index`-th item (the first item's is `roles`, as when alone)."""
    return "roles" if index == 0 else f"roles@{index}"


def item_errors(errors: dict[str, str], *, index: int, label: str) -> dict[str, str]:
    """An item's FieldErrors, keyed for the whole form and naming the item (past the first)."""
    found = {}
    for key, message in errors.items():
        shared = key in SHARED_FIELDS
        found[key if shared else roles_key(index) if key == "roles" else key] = \
            message if index == 0 else f"{label}: {message}"
    return found


def owner_key(request: AccessRequest) -> tuple[str, str]:
    """What the items of one approval message share: the channel, and who decides (the owner group, else the
    people themselves)."""
    who = f"@{request.approver_group}" if request.approver_group else ",".join(sorted(request.approvers))
    return (request.channel or "", who)


def parts(items: Sequence[AccessRequest]) -> list[int]:
    """For each item, in order, the number of the approval message it goes on: one per owner group, numbered in
    the order the groups first appear."""
    numbers: dict[tuple[str, str], int] = {}
    return [numbers.setdefault(owner_key(item), len(numbers)) for item in items]


def of_part(items: Sequence[AccessRequest], part: int | None) -> list[AccessRequest]:
    return [item for item in items if item.group_part == part]


def claim_summary(store: Store, item: AccessRequest, *, now: datetime) -> AccessRequest | None:
    """After `item` was decided (approved, denied, cancelled or expired): when no item of its group waits any more,
    mark the group told (`group_told_at` on its first item, compare-and-set) and return the item to tell it with;
    None when some item still waits, when it was told already, or when `item` is alone.

    Whoever saw the last decision tries, and exactly one wins: the last item decided always sees the others
    decided (its own read follows its own commit), and two deciders reading at once race on the first item's
    version. A lost race with a change to the first item that is not the mark reads again.
    """
    if item.group_id is None:
        return None
    for _ in range(3):
        with store.unit_of_work() as uow:
            items = uow.requests.in_group(item.group_id)
            if not items or any(r.status is RequestStatus.PENDING for r in items):
                return None
            head = min(items, key=lambda r: r.id or 0)
            if head.group_told_at is not None:
                return None
            try:
                uow.requests.save(replace(head, group_told_at=now, updated_at=now))
            except StaleWrite:
                continue
        return item
    return None

"""Once only: a submission is stored once, the same request waits once, and one person waits for a bounded number.

Three rules, checked in the unit of work that stores a request (new or extension), the first two backed by a
unique index so that two replicas receiving the same thing at once still make one request (the loser's insert
raises `Duplicate`, and `after_race` tells it what the winner stored):

- A replayed submission (the same Slack `view.id`, stored as `submission_key`) finds its request: `Replayed`,
  and nothing new is made or announced.
- While a request waits for a decision it holds a `pending_key`: the person, the resource and the set of roles
  for a new request; the grant for an extension (so at most one pending extension a grant). A second one is
  refused with a pointer to the first. Deciding, cancelling or expiring the first frees its key
  (`access.lifecycle` clears it), and the same request may be asked again.
- One person has at most `max_pending` requests waiting for a decision, extensions included. The count and the
  add are one step across replicas: the unit of work holds the person first (`RequestRepository.hold_requester`).

The last two rules are about requests that wait for approvers (and ping them): a request its flow grants at once
(auto-approval, break-glass) is neither refused by them nor counted, though a replay of it is still a replay.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import NoReturn

from access.entities import AccessRequest
from access.errors import Replayed, RequestRefused
from access.ports import Store, UnitOfWork

DEFAULT_MAX_PENDING = 10
KEY_LENGTH = 64  # a Slack view id is about 11 characters; anything longer is not one and keys nothing


def submission_key(view_id: object) -> str | None:
    """The key a submission is remembered by: Slack's view id, when it looks like one."""
    if isinstance(view_id, str) and 0 < len(view_id) <= KEY_LENGTH and view_id.isascii() and view_id.isalnum():
        return view_id
    return None


def asking_key(*, requester_id: str, integration: str, resource_id: str, roles: tuple[str, ...]) -> str:
    """The pending key of a new request: one person, one resource, one set of roles (in any order)."""
    return _digest("ask", requester_id, integration, resource_id, *sorted(set(roles)))


def extending_key(grant_id: int) -> str:
    """The pending key of an extension: one grant."""
    return _digest("extend", str(grant_id))


def pending_key(request: AccessRequest) -> str:
    if request.extends_grant_id is not None:
        return extending_key(request.extends_grant_id)
    return asking_key(requester_id=request.requester_id, integration=request.integration,
                      resource_id=request.resource_id, roles=request.roles)


def keyed(request: AccessRequest, *, submission: str | None, waits: bool) -> AccessRequest:
    """The new request with its keys, ready to be added (a pending key only if it will wait for a decision)."""
    return replace(request, submission_key=submission, pending_key=pending_key(request) if waits else None)


def check_replay(uow: UnitOfWork, submission: str | None) -> None:
    """Raise Replayed when a request was already stored from this submission."""
    if submission is not None and (found := uow.requests.by_submission_key(submission)) is not None:
        raise Replayed(found.id)


def check_twin(uow: UnitOfWork, *, requester_id: str, key: str, submission: str | None = None) -> None:
    """Refuse a second pending request with `key` (computed, so requests stored before the key existed count).

    The twin may be this very submission, committed by another replica after `check_replay` looked: a replay.
    """
    for waiting in uow.requests.pending_for(requester_id):
        if submission is not None and waiting.submission_key == submission:
            raise Replayed(waiting.id)
        if pending_key(waiting) == key:
            raise RequestRefused(twin_words(waiting))


def check_cap(uow: UnitOfWork, *, requester_id: str, max_pending: int) -> None:
    """Refuse when the person already has `max_pending` requests waiting; held until the unit of work ends, so
    two replicas storing the same person's requests at once count one after the other."""
    uow.requests.hold_requester(requester_id)
    waiting = len(uow.requests.pending_for(requester_id, limit=max_pending + 1))
    if waiting >= max_pending:
        many = f"{waiting} requests" if waiting != 1 else "1 request"
        raise RequestRefused(
            f"You have {many} waiting for a decision; {max_pending} is the most one person may have. Cancel one "
            "(/atlas-access list shows them) or wait until one is decided, then ask again.")


def check_pending(uow: UnitOfWork, *, requester_id: str, key: str, max_pending: int,
                  submission: str | None = None) -> None:
    """The twin, then the cap: the more useful answer first."""
    check_twin(uow, requester_id=requester_id, key=key, submission=submission)
    check_cap(uow, requester_id=requester_id, max_pending=max_pending)


def after_race(store: Store, *, submission: str | None, requester_id: str, key: str) -> NoReturn:
    """An add raised Duplicate: another replica stored the same submission or request a moment before.

    Reads what it stored (in a new unit of work, the spoilt one rolled back) and raises what this one is:
    Replayed, or the pointer to its twin. If the winner has moved on already (cancelled at once), say try again.
    """
    with store.unit_of_work() as uow:
        check_replay(uow, submission)
        check_twin(uow, requester_id=requester_id, key=key, submission=submission)
    raise RequestRefused("The same request was being stored at that moment; please try again.")


def twin_words(waiting: AccessRequest) -> str:
    what = "more time on this access" if waiting.extends_grant_id is not None else "this"
    group = (waiting.approver_group or "").removeprefix("@")
    who = f"@{group}" if group else "its approvers"
    return (f"You already asked for {what}: request #{waiting.id} is waiting for {who}. "
            f"Cancel it with /atlas-access cancel {waiting.id} to ask again.")


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()

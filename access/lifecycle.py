"""The request and grant state machines: a table of allowed moves and pure functions of (state, event, now).

Nothing here does I/O. The service loads a row, applies one of these, saves with a compare-and-set,
then performs the side effect; a replayed event finds the state moved on and raises AlreadyDecided.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TypedDict

from access.entities import AccessRequest, Approval, Grant
from access.errors import AlreadyDecided, NotAllowed
from access.model import GrantStatus, RequestStatus
from access.steps import current_step

R, G = RequestStatus, GrantStatus

REQUEST_MOVES: dict[RequestStatus, frozenset[RequestStatus]] = {
    R.PENDING: frozenset({R.APPROVED, R.DENIED, R.CANCELLED, R.EXPIRED}),
    R.APPROVED: frozenset(),
    R.DENIED: frozenset(),
    R.CANCELLED: frozenset(),
    R.EXPIRED: frozenset(),
}

GRANT_MOVES: dict[GrantStatus, frozenset[GrantStatus]] = {
    # GRANTING -> REVOKED: given up before anything reached Atlas (no baseline taken): nothing to undo.
    G.GRANTING: frozenset({G.ACTIVE, G.INVITED, G.REVOKING, G.GRANTING, G.REVOKED}),
    G.INVITED: frozenset({G.ACTIVE, G.REVOKING, G.INVITED}),
    G.ACTIVE: frozenset({G.REVOKING, G.ACTIVE}),
    G.REVOKING: frozenset({G.REVOKED, G.FAILED}),
    G.FAILED: frozenset({G.REVOKED, G.FAILED, G.REVOKING}),
    G.REVOKED: frozenset(),
}

LIVE_GRANT_STATES = (G.GRANTING, G.INVITED, G.ACTIVE, G.REVOKING, G.FAILED)


def _move_request(request: AccessRequest, to: RequestStatus, now: datetime, **changes: object) -> AccessRequest:
    if to not in REQUEST_MOVES[request.status]:
        raise AlreadyDecided(request.status.value, request.decided_by)
    # Every move leaves PENDING: the request no longer waits, so the same one may be asked again (access.once_only).
    return replace(request, status=to, updated_at=now, pending_key=None, **changes)  # type: ignore[arg-type]


def move_grant(grant: Grant, to: GrantStatus, now: datetime, **changes: object) -> Grant:
    if to not in GRANT_MOVES[grant.status]:
        raise AlreadyDecided(grant.status.value)
    return replace(grant, status=to, updated_at=now, **changes)  # type: ignore[arg-type]


def start_revocation(grant: Grant, now: datetime) -> Grant:
    """An expired ACTIVE grant's revocation begins: REVOKING, due at once (`GrantRepository.
    claim_due_starting_revocations` makes this same move in SQL, in the claim's own write)."""
    return move_grant(grant, G.REVOKING, now, next_attempt_at=now)


def approve(request: AccessRequest, *, user_id: str, now: datetime, seconds: int | None = None,
            reason: str | None = None) -> AccessRequest:
    """Record one approval (for `seconds` at most, when given: "Approve for…"); the request is APPROVED once it has
    the approvals it needs, for the shortest time any of them allowed (never more than was asked)."""
    check_decider(request, user_id)
    if any(a.user_id == user_id for a in request.approvals):
        raise AlreadyDecided("approved by you", user_id)
    if seconds is not None and not 0 < seconds <= request.duration_seconds:
        raise NotAllowed("An approval may shorten the access, never lengthen it: at most what was asked.")
    step = current_step(request)  # a multi-step approval: the approval counts for the step waiting now
    approvals = (*request.approvals, Approval(user_id=user_id, at=now, seconds=seconds, reason=reason or None,
                                              step=step))
    waiting = current_step(replace(request, approvals=approvals)) != len(request.approval_steps) if step is not None \
        else len(approvals) < request.approvals_required
    if waiting:
        return replace(request, approvals=approvals, updated_at=now)
    approved = _move_request(request, R.APPROVED, now, approvals=approvals, decided_by=user_id, decided_at=now)
    given = min([request.duration_seconds, *(a.seconds for a in approvals if a.seconds is not None)])
    if given < request.duration_seconds:
        approved = replace(approved, duration_seconds=given, outcome_note=shortened_note(
            given=given, asked=request.duration_seconds))
    return approved


def shortened_note(*, given: int, asked: int) -> str:
    """What the requester and the approval message read when an approver gave less time than was asked."""
    return f"Approved for {_span(given)} instead of the {_span(asked)} asked."


def _span(seconds: int) -> str:
    days, rest = divmod(max(seconds, 0) // 60, 1440)
    hours, minutes = divmod(rest, 60)
    parts = [(days, "day"), (hours, "hour"), (minutes, "minute")]
    return " ".join(f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts if n) or f"{seconds} seconds"


def auto_approve(request: AccessRequest, *, now: datetime) -> AccessRequest:
    return _move_request(request, R.APPROVED, now, decided_by="auto", decided_at=now)


def deny(request: AccessRequest, *, user_id: str, reason: str, now: datetime) -> AccessRequest:
    check_decider(request, user_id)
    return _move_request(request, R.DENIED, now, decided_by=user_id, decided_at=now, deny_reason=reason)


def cancel(request: AccessRequest, *, user_id: str, now: datetime) -> AccessRequest:
    if user_id != request.requester_id:
        raise NotAllowed("Only the person who asked can cancel a request.")
    return _move_request(request, R.CANCELLED, now, decided_by=user_id, decided_at=now)


def expire_request(request: AccessRequest, *, now: datetime) -> AccessRequest:
    return _move_request(request, R.EXPIRED, now, decided_by="system", decided_at=now)


def check_decider(request: AccessRequest, user_id: str) -> None:
    """Whether `user_id` may approve or deny `request` now (raises why not): on a click and before a Deny modal."""
    if request.status is not R.PENDING:
        raise AlreadyDecided(request.status.value, request.decided_by)
    if user_id == request.requester_id:
        raise NotAllowed("You can't approve or deny your own request.")
    if user_id == request.requested_by:
        raise NotAllowed("You asked for this access on someone's behalf: another approver has to decide it.")
    if user_id not in request.approvers:
        raise NotAllowed("Only the request's approvers can decide it.")


def new_grant_for(request: AccessRequest, *, username: str, now: datetime) -> Grant:
    """The grant row an approved request gets: GRANTING, due at once."""
    assert request.id is not None
    return Grant(
        request_id=request.id,
        integration=request.integration,
        resource_kind=request.resource_kind,
        organization_id=request.organization_id,
        resource_id=request.resource_id,
        resource_name=request.resource_name,
        username=username,
        requester_id=request.requester_id,
        roles=request.roles,
        duration_seconds=request.duration_seconds,
        network_entry=request.network_entry,
        database_auth=request.database_auth,
        ends_at=request.ends_at,
        next_attempt_at=max(now, request.starts_at) if request.starts_at is not None else now,  # scheduled: then
        created_at=now,
        updated_at=now,
    )


def activate(grant: Grant, *, now: datetime) -> Grant:
    """The access is live: the clock starts now (an item of a request of several resources ends with the others,
    at its `ends_at`, or sooner when it was approved for less)."""
    expires = now + timedelta(seconds=grant.duration_seconds)
    if grant.ends_at is not None:
        expires = min(expires, grant.ends_at)
    return move_grant(
        grant, G.ACTIVE, now, starts_at=now, expires_at=expires, next_attempt_at=None, attempts=0, last_error=None
    )


def end_early(grant: Grant, *, now: datetime, by: str | None = None) -> Grant:
    """"I'm done" (`by` the holder) or a grant given up by the bot: revoke at once."""
    return move_grant(grant, G.REVOKING, now, next_attempt_at=now, expires_at=min(grant.expires_at or now, now),
                      ended_by=by or grant.ended_by)


def revoke_now(grant: Grant, *, now: datetime, by: str, role: str, reason: str) -> Grant:
    """Revoke now by an admin or an owner (`role`): revoke at once, as "I'm done" does, saying who and why."""
    return move_grant(grant, G.REVOKING, now, next_attempt_at=now, expires_at=min(grant.expires_at or now, now),
                      ended_by=by, ended_as=role, end_reason=reason)


class RevocationReason(TypedDict, total=False):
    reason: str
    ended_by: str


def revocation_reason(grant: Grant, reason: str) -> RevocationReason:
    """The `revoked` audit row's reason: a grant someone ended says so and who, whatever woke its revocation."""
    if grant.ended_by is not None and grant.ended_as is not None:
        return {"reason": f"revoked_by_{grant.ended_as}", "ended_by": grant.ended_by}
    if grant.ended_by is not None:
        return {"reason": "ended_early", "ended_by": grant.ended_by}
    return {"reason": reason}


def backoff(attempts: int, *, base: float = 2.0, cap: float = 300.0, rng: random.Random | None = None) -> timedelta:
    """Exponential backoff with full jitter: the wait before attempt number `attempts + 1`."""
    ceiling = min(cap, base * (2 ** max(0, attempts - 1)))
    return timedelta(seconds=(rng or random).uniform(ceiling / 2, ceiling))


# Grants on their way out: being revoked, or their revocation failing and retried. Their roles keep nobody's: each
# takes its own away, less what the grants that stay need. Were they to keep each other's, two of one person's
# grants on one resource revoked at once (two replicas) would each keep the role the other gives, and neither
# remove it.
ENDING = (G.REVOKING, G.FAILED)


def roles_to_remove(grant: Grant, others: list[Grant]) -> tuple[str, ...]:
    """What a revocation takes away: the grant's roles, less the baseline and what the other live grants that stay
    need (not those ending too: see ENDING)."""
    keep = set(grant.baseline_roles)
    for other in others:
        if other.id != grant.id and other.status not in ENDING:
            keep |= set(other.roles)
    return tuple(role for role in grant.roles if role not in keep)


def should_remove_user(grant: Grant, others: list[Grant]) -> bool:
    """Remove the person from the resource when they held nothing before and no other grant that stays keeps them."""
    return not grant.baseline_roles and not any(o.id != grant.id and o.status not in ENDING for o in others)


def attributed(grant: Grant, *, added_roles: frozenset[str], added_user: bool,
               others: list[Grant]) -> tuple[tuple[str, ...], bool]:
    """What a grant added, on an attempt after one whose outcome was unknown (its answer lost): that attempt may
    have landed, so the call that went through finds the work done and reports nothing added. The grant is
    then credited with each role it asked for that the person did not hold before (the baseline) and no other
    live grant gives, and with the person themselves when they held nothing there before and no other grant
    keeps them there."""
    held_elsewhere = set(grant.baseline_roles) | {r for o in others if o.id != grant.id for r in o.roles}
    roles = set(added_roles) | {r for r in grant.roles if r not in held_elsewhere}
    user = added_user or (not grant.baseline_roles and not any(o.id != grant.id for o in others))
    return tuple(sorted(roles)), user


def baseline_for(current_roles: frozenset[str], others: list[Grant]) -> tuple[str, ...]:
    """What the person holds independently of the bot: current roles less what other live grants added."""
    added_by_bot: set[str] = set()
    for other in others:
        added_by_bot |= set(other.roles) - set(other.baseline_roles)
    return tuple(sorted(current_roles - added_by_bot))

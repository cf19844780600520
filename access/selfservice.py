"""Self-service use cases on a person's own access: Extend and "I'm done" (end a grant early); their App Home is
access.homes.

"I'm done" is one transaction (load, check it is the requester's, move the grant to REVOKING due now, save with
a compare-and-set, audit), then the worker revokes at once, restoring the baseline as an expiry would.

Extend is a new AccessRequest with `extends_grant_id`, decided by the original request's flow and approvers
like any request; it may not take the grant past the flow's `max_duration` counted from the grant's original
start. A grant has at most one pending extension (a second ask points at the first, see access.once_only), and
the bound is checked twice: when more time is asked, and again when it is applied, since the flow may have been
shortened in between. On approval `apply_extension` moves the grant's `expires_at` (compare-and-set), and with
it the revocation, which the worker reads from that column: by what was asked, or by the room left when that is
less (the grant gets what is left, and the request says so), or not at all when none is left; a denial changes
nothing. So `expires_at - starts_at <= max_duration` holds for every grant an extension moves.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from access import lifecycle, once_only, policy
from access.config import AccessFlowSpec
from access.entities import AccessRequest, AuditEvent, Grant
from access.errors import FieldErrors, NotAllowed, NotFound
from access.model import GrantStatus, RequestStatus, ResourceKind
from access.policy import Requester
from access.ports import Clock, Duplicate, Store, UnitOfWork
from access.worker import GrantWorker

G = GrantStatus
ENDABLE = (G.INVITED, G.ACTIVE)  # GRANTING is left to finish: ending it mid-call could race the roles being added


class SelfService:
    def __init__(self, *, store: Store, clock: Clock, worker: GrantWorker,
                 max_pending: int = once_only.DEFAULT_MAX_PENDING) -> None:
        self._store = store
        self._clock = clock
        self._worker = worker
        self._max_pending = max_pending  # requests one person may have waiting (see access.once_only)

    def done(self, *, grant_id: int, user_id: str, run: bool = True) -> Grant:
        """The requester ends their grant now; with `run`, the revocation runs before this returns."""
        now = self._clock.now()
        with self._store.unit_of_work() as uow:
            grant = uow.grants.get(grant_id)
            if grant is None:
                raise NotFound(f"grant {grant_id}")
            saved = uow.grants.save(end_now(grant, user_id=user_id, now=now))
            uow.audit.add(AuditEvent(at=now, actor=user_id, action="ended_early", integration=grant.integration,
                                     request_id=grant.request_id, grant_id=grant.id,
                                     detail={"resource": grant.resource_name}))
        if run:
            self._worker.run_due()
        return saved

    def extend(self, *, grant_id: int, requester: Requester, duration: timedelta, justification: str,
               submission_key: str | None = None) -> AccessRequest:
        """Ask for `duration` more on an active grant; stored (auto-approved and applied if its flow says so).

        The caller announces it (`AccessService.announce`) as it would a new request. `submission_key` (Slack's
        view id) makes a replayed submission raise Replayed instead of asking twice.
        """
        try:
            return self._extend(grant_id, requester, duration, justification, submission_key)
        except Duplicate:  # another replica stored the same submission, or an extension of this grant, just now
            once_only.after_race(self._store, submission=submission_key, requester_id=requester.user_id,
                                 key=once_only.extending_key(grant_id))

    def _extend(self, grant_id: int, requester: Requester, duration: timedelta, justification: str,
                submission_key: str | None) -> AccessRequest:
        now = self._clock.now()
        with self._store.unit_of_work() as uow:
            once_only.check_replay(uow, submission_key)
            grant, original, flow = self._extendable(uow, grant_id, requester.user_id, submission_key)
            waits = flow.approval != "auto"
            if waits:
                once_only.check_cap(uow, requester_id=requester.user_id, max_pending=self._max_pending)
            policy.check_duration(duration)
            check_extension_bound(grant, flow, duration)
            text = policy.check_justification(flow, justification)
            asked = extension_request(original, grant, duration, text, now)
            request = uow.requests.add(once_only.keyed(asked, submission=submission_key, waits=waits))
            uow.audit.add(AuditEvent(at=now, actor=requester.user_id, action="extension_requested",
                                     integration=grant.integration, request_id=request.id, grant_id=grant.id,
                                     detail={"resource": grant.resource_name, "seconds": request.duration_seconds}))
            if not waits:
                request = uow.requests.save(lifecycle.auto_approve(request, now=now))
                request = apply_extension(uow, request, now=now)[0]
        return request

    def check_extendable(self, *, grant_id: int, user_id: str) -> Grant:
        """The grant, if `user_id` may ask for more time on it now; else raises why not (for the Extend button:
        the modal opens only for someone whose submission could be taken)."""
        with self._store.unit_of_work() as uow:
            return self._extendable(uow, grant_id, user_id)[0]

    def _extendable(self, uow: UnitOfWork, grant_id: int, user_id: str,
                    submission: str | None = None) -> tuple[Grant, AccessRequest, AccessFlowSpec]:
        grant = uow.grants.get(grant_id)
        original = uow.requests.get(grant.request_id) if grant is not None else None
        if grant is None or original is None:
            raise NotFound(f"grant {grant_id}")
        if user_id != grant.requester_id:
            raise NotAllowed("Only the person who holds this access can extend it.")
        if grant.status is not G.ACTIVE or grant.expires_at is None:
            raise NotAllowed("Only active access can be extended.")
        if grant.resource_kind is ResourceKind.CLUSTER or original.break_glass:
            raise NotAllowed("This access can't be extended: ask for it again when it ends.")
        flow = uow.flows.get(original.flow)
        if flow is None or not flow.enabled:
            raise NotAllowed("The access flow of this grant is gone or disabled, so it can't be extended.")
        once_only.check_twin(uow, requester_id=user_id, key=once_only.extending_key(grant_id), submission=submission)
        if extension_room(grant, flow) <= timedelta(0):
            raise NotAllowed(f"This access already lasts as long as the flow {flow.name} allows: "
                             f"{span_words(flow.max_duration)} in all from when it started.")
        return grant, original, flow



def end_now(grant: Grant, *, user_id: str, now: datetime) -> Grant:
    """The grant ended early by `user_id`: only its requester may, and only while it is granting or live."""
    if user_id != grant.requester_id:
        raise NotAllowed("Only the person who holds this access can end it.")
    if grant.status not in ENDABLE:
        raise NotAllowed("This access is being granted or is already ending: try again in a moment.")
    return lifecycle.end_early(grant, now=now, by=user_id)


def extension_room(grant: Grant, flow: AccessFlowSpec | None) -> timedelta:
    """How much more time the flow's maximum leaves the grant, counted from its original start (whole seconds);
    none for a grant not live or a flow that is gone (no bound known, so no more time)."""
    if flow is None or grant.starts_at is None or grant.expires_at is None:
        return timedelta(0)
    room = grant.starts_at + flow.max_duration - grant.expires_at
    return timedelta(seconds=int(room.total_seconds()))  # down to whole seconds: never a hair past the maximum


def check_extension_bound(grant: Grant, flow: AccessFlowSpec, more: timedelta) -> None:
    """The flow's maximum counts from the grant's original start, however many extensions it gets."""
    room = extension_room(grant, flow)
    if more > room:
        left = max(int(room.total_seconds()) // 60, 0)
        raise FieldErrors({"duration": f"The flow {flow.name} allows {span_words(flow.max_duration)} in all from "
                                       f"the start; at most {left} more minutes can be added."})


def span_words(span: timedelta) -> str:
    """`8 hours`, `1 day 4 hours`, `1 hour 30 minutes` (`45 seconds` under a minute), as people read durations."""
    seconds = max(int(span.total_seconds()), 0)
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    days, rest = divmod(seconds // 60, 1440)
    hours, minutes = divmod(rest, 60)
    parts = [(days, "day"), (hours, "hour"), (minutes, "minute")]
    return " ".join(f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts if n)


def extension_request(original: AccessRequest, grant: Grant, more: timedelta, text: str,
                      now: datetime) -> AccessRequest:
    """A pending request for `more` time on `grant`, with the original request's flow and approvers."""
    return replace(
        original, id=None, status=RequestStatus.PENDING, duration_seconds=int(more.total_seconds()),
        justification=text, approvals=(), decided_by=None, decided_at=None, deny_reason=None, message_ts=None,
        reviewed_by=None, reviewed_at=None, extends_grant_id=grant.id, roles=grant.roles, created_at=now,
        updated_at=now, version=0, reminded_at=None, escalated_at=None, submission_key=None, pending_key=None,
        outcome_note=None,
    )


def apply_extension(uow: UnitOfWork, request: AccessRequest, *, now: datetime) -> tuple[AccessRequest, Grant | None]:
    """Move the extended grant's expiry for the approved request, within the flow's maximum as it is now.

    Less room than asked: the grant gets what is left; no room (or the flow gone), or the access ended: nothing
    moves. Either way the request's `outcome_note` says so, for the requester and the approval message, and the
    audit row has the figures. Returns the request (as saved) and the grant moved, if any.
    """
    grant = uow.grants.get(request.extends_grant_id or 0)
    asked = timedelta(seconds=request.duration_seconds)
    if grant is None or grant.status is not G.ACTIVE or grant.expires_at is None:
        return _void(uow, request, now, reason="the access has ended",
                     note="No time was added because the access had already ended."), None
    flow = uow.flows.get(request.flow)
    if flow is None:  # no maximum known, so no more time
        return _void(uow, request, now, reason="the access flow is gone",
                     note=f"No time was added because the access flow {request.flow} is gone."), None
    room = extension_room(grant, flow)
    if room <= timedelta(0):
        return _void(uow, request, now, reason="the flow's max_duration is reached",
                     note=f"No time was added because the flow {flow.name} allows {span_words(flow.max_duration)} "
                          "in all, counted from when the access started, and the access already lasts that long."), None
    added = min(asked, room)
    if added < asked:
        note = (f"It was approved for {span_words(added)} instead of {span_words(asked)} because the flow "
                f"{flow.name} allows {span_words(flow.max_duration)} in all, counted from when the access started.")
        request = uow.requests.save(replace(request, outcome_note=note, updated_at=now))
    expires = grant.expires_at + added
    # A new expiry earns a new reminder before it.
    saved = uow.grants.save(lifecycle.move_grant(grant, G.ACTIVE, now, expires_at=expires, reminder_sent_at=None))
    uow.audit.add(AuditEvent(at=now, actor="system", action="extended", integration=request.integration,
                             request_id=request.id, grant_id=grant.id,
                             detail={"resource": request.resource_name, "expires_at": expires.isoformat(),
                                     "asked_seconds": int(asked.total_seconds()),
                                     "added_seconds": int(added.total_seconds()),
                                     "max_seconds": int(flow.max_duration.total_seconds())}))
    return request, saved


def _void(uow: UnitOfWork, request: AccessRequest, now: datetime, *, reason: str, note: str) -> AccessRequest:
    uow.audit.add(AuditEvent(at=now, actor="system", action="extension_void", integration=request.integration,
                             request_id=request.id, grant_id=request.extends_grant_id,
                             detail={"resource": request.resource_name, "reason": reason,
                                     "asked_seconds": request.duration_seconds}))
    return uow.requests.save(replace(request, outcome_note=note, updated_at=now))

"""Self-service use cases on a person's own access: Extend, "I'm done" (end a grant early), and their App Home.

"I'm done" is one transaction (load, check it is the requester's, move the grant to REVOKING due now, save with
a compare-and-set, audit), then the worker revokes at once, restoring the baseline as an expiry would.

Extend is a new AccessRequest with `extends_grant_id`, decided by the original request's flow and approvers
like any request; it may not take the grant past the flow's `max_duration` counted from the grant's original
start. On approval `apply_extension` moves the grant's `expires_at` (compare-and-set), and with it the
revocation, which the worker reads from that column; a denial changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from access import lifecycle, policy
from access.config import AccessFlowSpec
from access.entities import AccessRequest, AuditEvent, Grant
from access.errors import FieldErrors, NotAllowed, NotFound
from access.model import GrantStatus, RequestStatus, ResourceKind
from access.policy import Requester
from access.ports import Clock, Store, UnitOfWork
from access.worker import GrantWorker

G = GrantStatus
ENDABLE = (G.INVITED, G.ACTIVE)  # GRANTING is left to finish: ending it mid-call could race the roles being added


@dataclass(frozen=True, kw_only=True)
class HomeData:
    """What one person's App Home shows, newest first in each list."""

    user_id: str
    now: datetime
    grants: tuple[Grant, ...]  # my live grants
    pending: tuple[AccessRequest, ...]  # my requests waiting for a decision
    to_decide: tuple[AccessRequest, ...]  # others' requests waiting for my decision
    health: tuple[tuple[str, dict[str, object]], ...] = ()  # (integration, status) for admins only


class SelfService:
    def __init__(self, *, store: Store, clock: Clock, worker: GrantWorker) -> None:
        self._store = store
        self._clock = clock
        self._worker = worker

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

    def extend(self, *, grant_id: int, requester: Requester, duration: timedelta, justification: str) -> AccessRequest:
        """Ask for `duration` more on an active grant; stored (auto-approved and applied if its flow says so).

        The caller announces it (`AccessService.announce`) as it would a new request.
        """
        now = self._clock.now()
        with self._store.unit_of_work() as uow:
            grant, original, flow = self._extendable(uow, grant_id, requester.user_id)
            policy.check_duration(duration)
            check_extension_bound(grant, flow, duration)
            text = policy.check_justification(flow, justification)
            request = uow.requests.add(extension_request(original, grant, duration, text, now))
            uow.audit.add(AuditEvent(at=now, actor=requester.user_id, action="extension_requested",
                                     integration=grant.integration, request_id=request.id, grant_id=grant.id,
                                     detail={"resource": grant.resource_name, "seconds": request.duration_seconds}))
            if flow.approval == "auto":
                request = uow.requests.save(lifecycle.auto_approve(request, now=now))
                apply_extension(uow, request, now=now)
        return request

    def _extendable(self, uow: UnitOfWork, grant_id: int, user_id: str) -> tuple[Grant, AccessRequest, AccessFlowSpec]:
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
        return grant, original, flow

    def home(self, *, user_id: str, admin: bool = False, limit: int = 50) -> HomeData:
        """My live grants, my pending requests, the requests waiting for me, and (admins) integration health."""
        with self._store.unit_of_work() as uow:
            live = (G.GRANTING, G.INVITED, G.ACTIVE, G.REVOKING, G.FAILED)
            grants = uow.grants.for_requester(user_id, statuses=live)
            mine = [r for r in uow.requests.for_requester(user_id, limit=limit) if r.status is RequestStatus.PENDING]
            waiting = [r for r in uow.requests.pending(limit=1000) if waits_for(r, user_id)]
            health = tuple((spec.name, uow.integrations.status(spec.name)) for spec in uow.integrations.list()) \
                if admin else ()
        newest: Callable[[AccessRequest], datetime] = lambda r: r.created_at  # noqa: E731
        return HomeData(
            user_id=user_id, now=self._clock.now(), grants=tuple(grants[:limit]), pending=tuple(mine),
            to_decide=tuple(sorted(waiting, key=newest, reverse=True)[:limit]), health=health,
        )


def end_now(grant: Grant, *, user_id: str, now: datetime) -> Grant:
    """The grant ended early by `user_id`: only its requester may, and only while it is granting or live."""
    if user_id != grant.requester_id:
        raise NotAllowed("Only the person who holds this access can end it.")
    if grant.status not in ENDABLE:
        raise NotAllowed("This access is being granted or is already ending: try again in a moment.")
    return lifecycle.end_early(grant, now=now)


def waits_for(request: AccessRequest, user_id: str) -> bool:
    """Whether `request` is pending and `user_id` may still decide it."""
    return (
        request.status is RequestStatus.PENDING
        and user_id in request.approvers
        and user_id != request.requester_id
        and all(a.user_id != user_id for a in request.approvals)
    )


def check_extension_bound(grant: Grant, flow: AccessFlowSpec, more: timedelta) -> None:
    """The flow's maximum counts from the grant's original start, however many extensions it gets."""
    assert grant.starts_at is not None and grant.expires_at is not None
    room = grant.starts_at + flow.max_duration - grant.expires_at
    if more > room:
        left = max(int(room.total_seconds()) // 60, 0)
        raise FieldErrors({"duration": f"The flow {flow.name} allows {_hours(flow.max_duration)} in all from the "
                                       f"start; at most {left} more minutes can be added."})


def _hours(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours:g} hours"


def extension_request(original: AccessRequest, grant: Grant, more: timedelta, text: str,
                      now: datetime) -> AccessRequest:
    """A pending request for `more` time on `grant`, with the original request's flow and approvers."""
    return replace(
        original, id=None, status=RequestStatus.PENDING, duration_seconds=int(more.total_seconds()),
        justification=text, approvals=(), decided_by=None, decided_at=None, deny_reason=None, message_ts=None,
        reviewed_by=None, reviewed_at=None, extends_grant_id=grant.id, roles=grant.roles, created_at=now,
        updated_at=now, version=0,
    )


def apply_extension(uow: UnitOfWork, request: AccessRequest, *, now: datetime) -> Grant | None:
    """Move the extended grant's expiry by the approved request's duration; None (audited) if it has ended."""
    grant = uow.grants.get(request.extends_grant_id or 0)
    if grant is None or grant.status is not G.ACTIVE or grant.expires_at is None:
        uow.audit.add(AuditEvent(at=now, actor="system", action="extension_void", integration=request.integration,
                                 request_id=request.id, grant_id=request.extends_grant_id,
                                 detail={"resource": request.resource_name, "reason": "the access has ended"}))
        return None
    expires = grant.expires_at + timedelta(seconds=request.duration_seconds)
    # A new expiry earns a new reminder before it.
    saved = uow.grants.save(lifecycle.move_grant(grant, G.ACTIVE, now, expires_at=expires, reminder_sent_at=None))
    uow.audit.add(AuditEvent(at=now, actor="system", action="extended", integration=request.integration,
                             request_id=request.id, grant_id=grant.id,
                             detail={"resource": request.resource_name, "expires_at": expires.isoformat()}))
    return saved

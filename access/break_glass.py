"""Break-glass: a flow that grants at once without approval, and the owners' review of it after the fact.

A request under a `break_glass` flow is APPROVED the moment it is stored (decided by `break_glass`) and its
grant starts straight away. The request only lands here when the requester ticked "This is an emergency"
(`policy.choose_flow`). Its reviewers are its approvers as for any request (the resource owners, else the
integration owners), resolved again when "Reviewed" is clicked: someone who has left the owners since can no
longer review it, someone who joined them can. The approval channel gets a loud message with a "Reviewed" button,
and the first reviewer's click is recorded on the request and in the audit trail (with the group or rule the
reviewer qualified through). Both steps run inside the caller's unit of work, so the state change and its audit
row commit together.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import datetime

from access import lifecycle
from access.entities import AccessRequest, AuditEvent, Grant
from access.errors import AlreadyDecided, NotAllowed
from access.policy import Approvers
from access.ports import UnitOfWork

DECIDED_BY = "break_glass"


def grant_at_once(request: AccessRequest, *, now: datetime) -> AccessRequest:
    """The pending request approved by the break-glass flow itself."""
    return replace(lifecycle.auto_approve(request, now=now), decided_by=DECIDED_BY)


def review(request: AccessRequest, *, user_id: str, now: datetime, reviewers: Collection[str]) -> AccessRequest:
    """One reviewer's after-the-fact review; the first one counts, later clicks find it done.

    `reviewers` are the owners as resolved for this click (not as they were when the glass was broken).
    """
    if not request.break_glass:
        raise NotAllowed("Only break-glass access is reviewed after the fact.")
    if request.reviewed_by is not None:
        raise AlreadyDecided("reviewed", request.reviewed_by)
    if user_id == request.requester_id:
        raise NotAllowed("You can't review your own break-glass access.")
    if user_id not in reviewers:
        raise NotAllowed("Only the owners of this resource, as they are now, can review this break-glass access: "
                         "you are not one of them.")
    return replace(request, reviewed_by=user_id, reviewed_at=now, updated_at=now)


def open_glass(uow: UnitOfWork, request: AccessRequest, *, email: str, now: datetime) -> Grant:
    """Approve the stored request at once and add its grant, with the audit row, in `uow`."""
    saved = uow.requests.save(grant_at_once(request, now=now))
    _audit(uow, saved, actor=saved.requester_id, action="break_glass", now=now,
           roles=list(saved.roles), justification=saved.justification, reviewers=list(saved.approvers))
    return uow.grants.add(lifecycle.new_grant_for(saved, username=email, now=now))


def record_review(
    uow: UnitOfWork, request: AccessRequest, *, user_id: str, now: datetime, approvers: Approvers
) -> AccessRequest:
    """Save a review in `uow`; a refused one is audited and committed before the refusal is raised."""
    try:
        reviewed = review(request, user_id=user_id, now=now, reviewers=approvers.user_ids)
    except (NotAllowed, AlreadyDecided) as refusal:
        _audit(uow, request, actor=user_id, action="refused", now=now, reason=str(refusal))
        uow.commit()
        raise
    saved = uow.requests.save(reviewed)
    _audit(uow, saved, actor=user_id, action="break_glass_reviewed", now=now, requester=saved.requester_id,
           via=approvers.via.get(user_id))
    return saved


def _audit(uow: UnitOfWork, request: AccessRequest, *, actor: str, action: str, now: datetime,
           **detail: object) -> None:
    uow.audit.add(AuditEvent(at=now, actor=actor, action=action, integration=request.integration,
                             request_id=request.id, detail={"resource": request.resource_name, **detail}))

"""Use cases for people: what may I ask for, ask, approve, deny, cancel, and what do I have.

Each use case is one transaction (load, check policy, apply a lifecycle move, save with compare-and-set,
audit), then side effects after the commit: Slack via the Notifier, Atlas via the GrantWorker.

Who may decide is settled at click time, not when the request was made: approve, deny and the break-glass
review first resolve the resource's owners again (`policy.approvers_now`, from the inventory and the directory
as they are now) and store them on the request when they changed, so the approval message, the Homes and the
reminders, all rendered from the stored request, name who may decide now. The decision is then authorised
against that resolution, and its audit row says through which group or rule the person qualified (`via`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TypeVar

from access import break_glass, lifecycle, on_call, once_only, policy, selfservice, several, steps
from access.approver_groups import ApproverGroups
from access.config import AccessFlowSpec, IntegrationSpec
from access.entities import AccessRequest, AuditEvent, Grant, InventoryResource
from access.errors import AccessError, AlreadyDecided, FieldErrors, NotAllowed, NotFound, RequestRefused
from access.model import GrantStatus, OnCallNote, RequestStatus, ResourceKind, utc_iso
from access.policy import Approvers, Requester
from access.ports import AtlasGateway, Clock, Duplicate, GroupDirectory, Notifier, OnCall, Store, UnitOfWork
from access.worker import GrantWorker

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class RequestForm:
    """What the request modal offers for one resource."""

    resource: InventoryResource
    roles: tuple[str, ...]
    max_duration: timedelta
    justification_required: bool
    auto_approved: bool
    approvers: Approvers
    break_glass: bool = False  # every matching flow is break-glass: granted at once, reviewed afterwards
    # Set when some matching flow is break-glass: the modal then offers the "This is an emergency" box.
    emergency_max_duration: timedelta | None = None
    ordinary_max_duration: timedelta | None = None  # the longest without the box; None: only break-glass here
    # A flow here approves whoever is on call: what the check found for the requester, and the longest such an
    # approval gives them now (None unless they are on call).
    on_call: OnCallNote | None = None
    on_call_limit: timedelta | None = None
    # Some flow here opens a network path (network_access): the modal asks for the requester's IP address or
    # CIDR block, at most this wide (IPv4 prefix length); None: it does not ask.
    network_prefix: int | None = None
    for_others: bool = False  # the requester may ask for someone else here (an admin, or a delegate of a flow)


@dataclass(frozen=True, kw_only=True)
class MyAccess:
    requests: list[AccessRequest]
    grants: list[Grant]


class AccessService:
    def __init__(
        self,
        *,
        store: Store,
        gateways: Callable[[str], AtlasGateway],
        directory: GroupDirectory,
        notifier: Notifier,
        clock: Clock,
        worker: GrantWorker,
        max_pending: int = once_only.DEFAULT_MAX_PENDING,
        on_call_providers: Mapping[str, OnCall] | None = None,
        groups: ApproverGroups | None = None,
        is_admin: Callable[[str], bool] | None = None,
    ) -> None:
        self._store = store
        self._is_admin = is_admin or (lambda user_id: False)  # ATLAS_ACCESS_ADMINS: they may ask for others
        self._gateways = gateways
        self._directory = directory
        self._notifier = notifier
        self._clock = clock
        self.worker = worker
        self._max_pending = max_pending  # requests one person may have waiting (see access.once_only)
        self._on_call = dict(on_call_providers or {})  # by provider name (`pagerduty`), see access.on_call
        # The Directory of approver groups (Slack user groups, Okta groups); Slack's alone unless given.
        self._groups = groups if groups is not None else ApproverGroups(people=directory)

    # --- queries --------------------------------------------------------------------------------------

    def requestable(self, *, requester: Requester, query: str = "", limit: int = 100) -> list[InventoryResource]:
        """Inventory resources some enabled flow lets `requester` ask for, matching `query`."""
        with self._store.unit_of_work() as uow:
            flows = [f for f in uow.flows.list(enabled_only=True)
                     if policy.may_request_somewhere(f, requester, self._directory)]
            if not flows:
                return []
            integrations = {f.integration for f in flows}
            found = []
            for resource in uow.inventory.resources(query=query, limit=limit * 4):
                if resource.integration in integrations and policy.flows_for(
                    flows=flows, requester=requester, resource=resource, directory=self._directory
                ):
                    found.append(resource)
                if len(found) >= limit:
                    break
            return found

    def form(self, *, requester: Requester, integration: str, resource_id: str) -> RequestForm:
        with self._store.unit_of_work() as uow:
            spec, resource, flows = self._matching(uow, requester, integration, resource_id)
        roles = policy.roles_offered(flows, resource.kind, spec)
        ordinary = [f for f in flows if not f.break_glass]
        glass = [f for f in flows if f.break_glass]
        note, limit = self._on_call_outlook(spec, ordinary, requester)
        return RequestForm(
            resource=resource,
            roles=tuple(roles),
            max_duration=max(f.max_duration for f in flows),
            # break-glass flows always require one; the server checks the flow a submission lands in
            justification_required=any(f.justification == "required" for f in ordinary or glass),
            auto_approved=bool(ordinary) and all(f.approval == "auto" for f in ordinary),
            break_glass=not ordinary,
            emergency_max_duration=max((f.max_duration for f in glass), default=None),
            ordinary_max_duration=max((f.max_duration for f in ordinary), default=None),
            network_prefix=min((f.network_max_prefix for f in flows if f.network_access is not None), default=None),
            approvers=policy.resolve_approvers(
                integration=spec, resource=resource, requester=requester, directory=self._directory,
                groups=self._groups,
            ),
            on_call=note, on_call_limit=limit,
            for_others=any(policy.may_ask_for_others(f, requester, self._directory, admin=False) for f in flows)
            or self._is_admin(requester.user_id),
        )

    def bundles(self, *, requester: Requester) -> list[tuple[str, str]]:
        """The bundles the request modal offers `requester`: (flow name, bundle name) of the enabled flows they may
        ask through, by flow then bundle."""
        with self._store.unit_of_work() as uow:
            flows = [f for f in uow.flows.list(enabled_only=True)
                     if f.bundles and policy.may_request_somewhere(f, requester, self._directory)]
        return [(f.name, bundle.name) for f in flows for bundle in f.bundles]

    def bundle_items(self, *, requester: Requester, flow: str, bundle: str) -> list[several.ItemAsked]:
        """A bundle's items as inventory resources (their ids) with their roles, for the modal to fill in; each is
        still checked at submission as any item is. RequestRefused when the bundle is gone or names a resource
        the inventory does not hold (or that no flow lets the person ask for)."""
        with self._store.unit_of_work() as uow:
            spec = uow.flows.get(flow)
            found = next((b for b in spec.bundles if b.name == bundle), None) if spec is not None else None
            if spec is None or found is None or not spec.enabled \
                    or not policy.may_request_somewhere(spec, requester, self._directory):
                raise RequestRefused("That bundle is not offered (any more): pick the resources one by one.")
            flows = uow.flows.list(enabled_only=True)
            items = []
            for item in found.items:
                named = [r for r in uow.inventory.resources(integration=spec.integration, query=item.resource,
                                                            limit=100) if r.name == item.resource]
                usable = [r for r in named if policy.flows_for(flows=flows, requester=requester, resource=r,
                                                                directory=self._directory)]
                if not usable:
                    raise RequestRefused(f"The bundle {bundle} names {item.resource}, which is not in the inventory "
                                         "or not yours to ask for: pick the resources one by one, or ask an admin.")
                items.append(several.ItemAsked(integration=spec.integration, resource_id=usable[0].atlas_id,
                                               roles=tuple(item.roles)))
        return items

    def _on_call_outlook(self, spec: IntegrationSpec, flows: list[AccessFlowSpec], requester: Requester
                         ) -> tuple[OnCallNote | None, timedelta | None]:
        """For the modal: whether the requester is on call for the first flow here that approves on-call people."""
        flow = next((f for f in flows if on_call.rule_of(f) is not None), None)
        rule = on_call.rule_of(flow) if flow is not None else None
        if rule is None:
            return None, None
        now = self._clock.now()
        note = on_call.check(rule=rule, integration=spec, email=requester.email, providers=self._on_call, now=now)
        limit = on_call.granted(rule=rule, note=note, asked=rule.max_duration, now=now) if note.approved else None
        return note, limit

    def mine(self, *, user_id: str) -> MyAccess:
        with self._store.unit_of_work() as uow:
            live = (GrantStatus.GRANTING, GrantStatus.INVITED, GrantStatus.ACTIVE, GrantStatus.REVOKING,
                    GrantStatus.FAILED)
            return MyAccess(
                requests=uow.requests.for_requester(user_id, limit=20),
                grants=uow.grants.for_requester(user_id, statuses=live),
            )

    def may_decide(self, *, request_id: int, user_id: str) -> AccessRequest:
        """The request, if `user_id` may decide it now; else raises why not (NotAllowed, AlreadyDecided,
        NotFound). For the Deny button: its modal opens only for someone whose submission could be taken."""
        with self._store.unit_of_work() as uow:
            request = self._load(uow, request_id)
            spec = self._integration(uow, request.integration)
            resource = uow.inventory.resource(integration=request.integration, atlas_id=request.resource_id)
        current = self._approvers_of(request, spec, resource)  # as a click would find them (see _at_click)
        now_deciding = replace(_deciding(request, current, user_id), approvers=current.user_ids)
        lifecycle.check_decider(now_deciding, user_id)
        return request

    def reason_required(self, request: AccessRequest) -> bool:
        """Whether the request's flow needs a reason with every approval (`approval_reason: required`)."""
        with self._store.unit_of_work() as uow:
            flow = uow.flows.get(request.flow)
        return flow is not None and flow.approval_reason == "required"

    def get(self, request_id: int) -> tuple[AccessRequest, Grant | None]:
        with self._store.unit_of_work() as uow:
            request = uow.requests.get(request_id)
            if request is None:
                raise NotFound(f"request {request_id}")
            return request, uow.grants.for_request(request_id)

    # --- commands -------------------------------------------------------------------------------------

    def submit(
        self,
        *,
        requester: Requester,
        integration: str,
        resource_id: str,
        roles: tuple[str, ...],
        duration: timedelta,
        justification: str,
        announce: bool = True,
        emergency: bool = False,
        submission_key: str | None = None,
        network: str | None = None,
        on_behalf: Requester | None = None,
        start: datetime | None = None,
    ) -> AccessRequest:
        """Ask for access. Raises FieldErrors for bad input, RequestRefused when no flow allows it (or the same
        request already waits, or too many of the person's do), Replayed for a submission already stored.

        `emergency` is the requester's explicit "This is an emergency": only then is a break-glass flow used,
        and only such a flow (see `policy.choose_flow`).

        With `announce=False` it returns right after the commit, before any Slack or Atlas work, so a caller
        that must answer within a deadline (Slack's 3 s ack) can answer first and then call `announce`.
        `submission_key` (Slack's view id) is stored with the request: a replay of it makes nothing new.

        `on_behalf`: an admin or a delegate of the flow (`requester`) asks for this person, who gets the access;
        the flows are matched for them, and the request records who asked (`requested_by`). Oneself there is an
        ordinary request.

        `start`: scheduled access, granted at that moment (after now, within the flow's `max_schedule_ahead`),
        approved ahead; FieldErrors (`start`) otherwise. Break-glass and on-call approval are for now only.
        """
        now = self._clock.now()
        asker = requester
        if on_behalf is not None and on_behalf.user_id != requester.user_id:
            requester = on_behalf
        try:
            if asker is not requester and emergency:
                raise RequestRefused("Break-glass access is taken by the person who needs it, not on their behalf.")
            if start is not None and emergency:
                raise RequestRefused("Break-glass access is for now: leave the start empty.")
            checked = None if start is not None else self._on_call_before(
                requester, integration, resource_id, roles, duration, now, emergency=emergency)
            request, spec, grant = self._store_request(
                requester, integration, resource_id, roles, duration, justification, now, emergency=emergency,
                submission=submission_key, checked=checked, network=network, asker=asker, start=start)
        except RequestRefused as refused:
            self._refused(asker, integration, resource_id, refused.reason)
            raise
        if announce:
            self._announce(request, spec)
            if grant is not None:
                self.worker.run_due()
        return request

    def submit_many(
        self,
        *,
        requester: Requester,
        items: Sequence[several.ItemAsked],
        duration: timedelta,
        justification: str,
        announce: bool = True,
        emergency: bool = False,
        submission_key: str | None = None,
        network: str | None = None,
        on_behalf: Requester | None = None,
        start: datetime | None = None,
    ) -> list[AccessRequest]:
        """Ask for several resources in one request (see access.several): each item is checked as `submit` checks
        a request alone, and all are stored together or none is (FieldErrors name the item: `roles@<index>` for
        its roles, the shared fields with the item's name; a RequestRefused starts with it). One item is an
        ordinary request. Every item's access ends at the same moment: the submission (or `start`) plus
        `duration`. Break-glass is for one resource at a time.
        """
        several.check_items(items)
        if len(items) == 1:
            only = items[0]
            return [self.submit(requester=requester, integration=only.integration, resource_id=only.resource_id,
                                roles=only.roles, duration=duration, justification=justification, announce=announce,
                                emergency=emergency, submission_key=submission_key, network=network,
                                on_behalf=on_behalf, start=start)]
        now = self._clock.now()
        asker = requester
        if on_behalf is not None and on_behalf.user_id != requester.user_id:
            requester = on_behalf
        try:
            if emergency:
                raise FieldErrors({"emergency": "Emergency (break-glass) access is for one resource at a time: ask "
                                                "for the others in a request of their own."})
            checked = [None if start is not None else self._on_call_before(
                requester, item.integration, item.resource_id, item.roles, duration, now, emergency=False)
                for item in items]
            made, grants = self._store_several(requester, items, duration, justification, now,
                                               submission=submission_key, checked=checked, network=network,
                                               asker=asker, start=start)
        except RequestRefused as refused:
            self._refused(asker, items[0].integration, ",".join(i.resource_id for i in items), refused.reason)
            raise
        if announce:
            self._announce_group(made[0].group_id or "")
            if grants:
                self.worker.run_due()
        return made

    def _store_several(
        self, requester: Requester, items: Sequence[several.ItemAsked], duration: timedelta, justification: str,
        now: datetime, *, submission: str | None, checked: list[tuple[str, OnCallNote] | None],
        network: str | None, asker: Requester, start: datetime | None,
    ) -> tuple[list[AccessRequest], int]:
        """Every item stored in one unit of work, numbered by approval message (one per owner group); or none."""
        group = (uuid.uuid4().hex, (start or now) + duration)
        try:
            with self._store.unit_of_work() as uow:
                once_only.check_replay(uow, submission)
                made, grants = [], 0
                for index, item in enumerate(items):
                    try:
                        request, _, grant = self._check_and_add(
                            uow, requester, item.integration, item.resource_id, item.roles, duration, justification,
                            now, emergency=False, submission=submission if index == 0 else None,
                            checked=checked[index], network=network, asker=asker, start=start, group=group)
                    except FieldErrors as errors:
                        label = self._label(uow, item)
                        raise FieldErrors(several.item_errors(errors.errors, index=index, label=label)) from None
                    except RequestRefused as refused:
                        raise RequestRefused(f"{self._label(uow, item)}: {refused.reason}") from None
                    made.append(request)
                    grants += grant is not None
                numbers = several.parts(made)
                made = [uow.requests.save(replace(r, group_part=n)) for r, n in zip(made, numbers, strict=True)]
        except Duplicate:  # another replica stored the same submission just now
            first = items[0]
            key = once_only.asking_key(requester_id=requester.user_id, integration=first.integration,
                                       resource_id=first.resource_id, roles=first.roles)
            once_only.after_race(self._store, submission=submission, requester_id=requester.user_id, key=key)
        return made, grants

    @staticmethod
    def _label(uow: UnitOfWork, item: several.ItemAsked) -> str:
        resource = uow.inventory.resource(integration=item.integration, atlas_id=item.resource_id)
        return f"{resource.kind.value} {resource.name}" if resource is not None else item.resource_id

    def _on_call_before(
        self, requester: Requester, integration: str, resource_id: str, roles: tuple[str, ...], duration: timedelta,
        now: datetime, *, emergency: bool,
    ) -> tuple[str, OnCallNote] | None:
        """(flow name, what the on-call check found) when the flow the request lands in approves on-call people.

        Asked before the transaction that stores the request, so no database lock waits on the provider; the
        store then uses it only if the request still lands in that flow. Bad input is left to that store.
        """
        try:
            with self._store.unit_of_work() as uow:
                if not any(f.auto_approve is not None for f in uow.flows.list(enabled_only=True)):
                    return None  # the common case costs one read, and no directory question
                spec, resource, flows = self._matching(uow, requester, integration, resource_id)
            flow = policy.choose_flow(flows, roles, duration, emergency=emergency)
        except (FieldErrors, RequestRefused):
            return None
        rule = on_call.rule_of(flow)
        if rule is None:
            return None
        return flow.name, on_call.check(rule=rule, integration=spec, email=requester.email,
                                        providers=self._on_call, now=now)

    def _store_request(
        self, requester: Requester, integration: str, resource_id: str, roles: tuple[str, ...],
        duration: timedelta, justification: str, now: datetime, *, emergency: bool, submission: str | None,
        checked: tuple[str, OnCallNote] | None = None, network: str | None = None, asker: Requester | None = None,
        start: datetime | None = None,
    ) -> tuple[AccessRequest, IntegrationSpec, Grant | None]:
        try:
            return self._check_and_store(requester, integration, resource_id, roles, duration, justification, now,
                                         emergency=emergency, submission=submission, checked=checked,
                                         network=network, asker=asker, start=start)
        except Duplicate:  # another replica stored the same submission, or the same pending request, just now
            key = once_only.asking_key(requester_id=requester.user_id, integration=integration,
                                       resource_id=resource_id, roles=roles)
            once_only.after_race(self._store, submission=submission, requester_id=requester.user_id, key=key)

    def _check_and_store(
        self, requester: Requester, integration: str, resource_id: str, roles: tuple[str, ...],
        duration: timedelta, justification: str, now: datetime, *, emergency: bool, submission: str | None,
        checked: tuple[str, OnCallNote] | None = None, network: str | None = None, asker: Requester | None = None,
        start: datetime | None = None,
    ) -> tuple[AccessRequest, IntegrationSpec, Grant | None]:
        """Check the request against the flows and store it (auto-approved when its flow says so)."""
        with self._store.unit_of_work() as uow:
            once_only.check_replay(uow, submission)
            return self._check_and_add(uow, requester, integration, resource_id, roles, duration, justification,
                                       now, emergency=emergency, submission=submission, checked=checked,
                                       network=network, asker=asker, start=start)

    def _check_and_add(
        self, uow: UnitOfWork, requester: Requester, integration: str, resource_id: str, roles: tuple[str, ...],
        duration: timedelta, justification: str, now: datetime, *, emergency: bool, submission: str | None,
        checked: tuple[str, OnCallNote] | None = None, network: str | None = None, asker: Requester | None = None,
        start: datetime | None = None, group: tuple[str, datetime] | None = None,
    ) -> tuple[AccessRequest, IntegrationSpec, Grant | None]:
        """The checks and the store of one request (or of one item of a request of several: `group` is its group id
        and common end), in the caller's unit of work."""
        asker = asker or requester
        for_other = asker.user_id != requester.user_id
        spec, resource, flows = self._matching(uow, requester, integration, resource_id)
        policy.check_duration(duration, kind=resource.kind)
        flow = policy.choose_flow(flows, roles, duration, emergency=emergency)
        if for_other and not policy.may_ask_for_others(flow, asker, self._directory,
                                                       admin=self._is_admin(asker.user_id)):
            raise RequestRefused(f"Only admins and the delegates of the access flow {flow.name} may ask for "
                                 "someone else.")
        text = policy.check_justification(flow, justification)
        entry = policy.check_network(flow, network)
        policy.check_start(start, flow, now=now)
        approvers = policy.resolve_approvers(
            integration=spec, resource=resource, requester=requester, directory=self._directory,
            groups=self._groups,
        )
        note = checked[1] if checked is not None and checked[0] == flow.name else None
        on_call_now = note is not None and note.approved
        needed = flow.approvals_required
        if flow.approval_steps:  # the first step's approvers decide first
            first = replace(self._new_request(requester, spec, flow, resource, roles, duration, "", approvers,
                                              now), requested_by=asker.user_id if for_other else None)
            approvers = steps.approvers_for(first, integration=spec, resource=resource,
                                            directory=self._directory, groups=self._groups)
            needed = flow.approval_steps[0].required
        # An emergency is not refused for want of reviewers: the loud message still goes to the channel; nor
        # is an on-call approval (the owners are told, and may revoke it).
        deciders = [u for u in approvers.user_ids if u != asker.user_id]  # a delegate decides none of theirs
        if flow.approval == "owners" and not flow.break_glass and not on_call_now \
                and len(deciders) < needed:
            raise RequestRefused("Nobody else can approve this request: ask an admin to set the owners.")
        if flow.approval_steps and not on_call_now:
            short = steps.first_short_step(first, integration=spec, resource=resource,
                                           directory=self._directory, groups=self._groups)
            if short is not None:
                raise RequestRefused(f"Step {short + 1} of the approval has too few approvers besides you "
                                     f"({steps.rule_words(first.approval_steps[short])}): ask an admin.")
        asked = replace(self._new_request(requester, spec, flow, resource, roles, duration, text, approvers, now),
                        on_call=note, network_entry=entry, requested_by=asker.user_id if for_other else None,
                        starts_at=start, group_id=group[0] if group else None,
                        ends_at=group[1] if group else None)
        # granted at once, it waits for nobody
        waits = flow.approval == "owners" and not flow.break_glass and not on_call_now
        if waits:
            once_only.check_pending(uow, requester_id=requester.user_id, key=once_only.pending_key(asked),
                                    max_pending=self._max_pending, submission=submission)
        request = uow.requests.add(once_only.keyed(asked, submission=submission, waits=waits))
        self._audit(uow, request, asker.user_id, "requested", flow=flow.name, roles=list(roles),
                    **({"on_behalf_of": requester.user_id} if for_other else {}),
                    **({"group": group[0]} if group else {}))
        grant = None
        if flow.break_glass:
            grant = break_glass.open_glass(uow, request, email=requester.email, now=now)
        elif flow.approval == "auto":
            grant = self._auto_approve(uow, request, requester)
        elif on_call_now and note is not None:
            grant = self._approve_on_call(uow, request, flow, note, requester, now)
        request = uow.requests.get(request.id or 0) or request
        return request, spec, grant

    def announce(self, *, request_id: int) -> None:
        """What `submit(..., announce=False)` left for later: the approval message, the requester's DM, and
        the grant of an auto-approved request."""
        with self._store.unit_of_work() as uow:
            request = self._load(uow, request_id)
            spec = self._integration(uow, request.integration)
            granting = uow.grants.for_request(request_id) is not None
            if request.group_id is not None:
                granting = any(uow.grants.for_request(r.id or 0) is not None
                               for r in uow.requests.in_group(request.group_id))
        if request.group_id is not None:
            self._announce_group(request.group_id)
        else:
            self._announce(request, spec)
        if granting:
            self.worker.run_due()

    def approve(self, *, request_id: int, user_id: str, duration: timedelta | None = None, reason: str = "",
                run: bool = True) -> AccessRequest:
        """One approver's yes; the grant starts once the request has all the approvals it needs.

        "Approve for…": `duration` (at most what was asked) shortens the access, and `reason` says why (a flow with
        `approval_reason: required` needs one with every approval). FieldErrors (keys `duration`, `reason`) when
        they are not acceptable; nothing is then stored. With `run=False` the grant is left to the worker's next
        run (`self.worker.run_due()`), for a caller that answers Slack first.
        """
        now = self._clock.now()
        with self._at_click(request_id, now) as current, self._store.unit_of_work() as uow:
            request = self._load(uow, request_id)
            seconds, text = None, ""

            step = steps.current_step(request)

            def move(r: AccessRequest) -> AccessRequest:
                nonlocal seconds, text
                deciding = _deciding(r, current, user_id)
                lifecycle.check_decider(deciding, user_id)  # who may comes first: then the terms of the approval
                if r.ends_at is not None and now >= r.ends_at:
                    raise NotAllowed(f"This item's access would already have ended: every item of the request ends "
                                     f"together, at {utc_iso(r.ends_at)}. Deny it, or let it expire.")
                seconds, text = self._approval_terms(uow, r, duration, reason)
                return lifecycle.approve(deciding, user_id=user_id, now=now, seconds=seconds, reason=text)

            saved = uow.requests.save(self._decide(uow, request, user_id, move))
            terms: dict[str, object] = {"seconds": seconds, "asked_seconds": request.duration_seconds} \
                if seconds is not None else {}
            self._audit(uow, saved, user_id, "approved" if saved.status is RequestStatus.APPROVED else "approval_added",
                        via=current.via.get(user_id), **terms, **({"reason": text} if text else {}),
                        **({"step": step + 1} if step is not None else {}))
            extension = saved.extends_grant_id is not None
            if saved.status is RequestStatus.APPROVED and extension:
                selfservice.apply_extension(uow, saved, now=now)  # more time on a grant, not a new one
            elif saved.status is RequestStatus.APPROVED:
                uow.grants.add(lifecycle.new_grant_for(saved, username=saved.requester_email, now=now))
            spec = self._integration(uow, saved.integration)
        if saved.status is RequestStatus.PENDING and steps.current_step(saved) != step:
            self._follow_approvers(request_id, now)  # the next step's approvers decide now: named and shown
        if saved.status is RequestStatus.APPROVED and not extension and run:
            # The grant first: the requester waits on Atlas, not on Slack. The grant's own messages say it was
            # granted (and who approved it); "approved" is said only when the grant is still to come (a retry, a
            # scheduled start).
            self.worker.run_due()
            self._refresh(saved, spec, event="approved", unless_granted=True)
            self._group_summary(saved, spec)
            return saved
        self._refresh(saved, spec, event="approved" if saved.status is RequestStatus.APPROVED else None)
        self._group_summary(saved, spec)
        return saved

    def approve_all(self, *, request_id: int, user_id: str) -> list[tuple[AccessRequest, AccessError | None]]:
        """"Approve all" on an owner group's approval message of a request of several resources: `approve` for each
        item of that message still waiting, each on its own (one refused, say for a reason its flow requires, leaves
        the others approved). Each item with what became of it: the error that refused it, or None."""
        with self._store.unit_of_work() as uow:
            request = self._load(uow, request_id)
            items = several.of_part(uow.requests.in_group(request.group_id), request.group_part) \
                if request.group_id is not None else [request]
        outcomes: list[tuple[AccessRequest, AccessError | None]] = []
        for item in items:
            if item.status is not RequestStatus.PENDING:
                continue
            try:
                outcomes.append((self.approve(request_id=item.id or 0, user_id=user_id), None))
            except AccessError as error:
                outcomes.append((item, error))
        return outcomes

    def check_approval(self, *, request_id: int, duration: timedelta | None, reason: str) -> None:
        """FieldErrors when "Approve for…" with these terms would be refused (the modal shows them before its
        ack); who may decide is checked by `approve` itself."""
        with self._store.unit_of_work() as uow:
            self._approval_terms(uow, self._load(uow, request_id), duration, reason)

    @staticmethod
    def _approval_terms(uow: UnitOfWork, request: AccessRequest, duration: timedelta | None,
                        reason: str) -> tuple[int | None, str]:
        """(seconds or None, the reason cleaned) for an approval, checked against what was asked and the flow."""
        text = policy.check_approval_reason(reason)
        flow = uow.flows.get(request.flow)
        if not text and flow is not None and flow.approval_reason == "required":
            raise FieldErrors({"reason": f"The flow {flow.name} needs a reason with every approval: use "
                                         "“Approve for…” and say why."})
        if duration is None:
            return None, text
        seconds = int(duration.total_seconds())
        if seconds <= 0:
            raise FieldErrors({"duration": "Approve for some time, or deny the request."})
        if seconds > request.duration_seconds:
            raise FieldErrors({"duration": f"You can approve for at most the "
                                           f"{selfservice.span_words(timedelta(seconds=request.duration_seconds))} "
                                           "asked: ask the requester to ask again for more."})
        return seconds, text

    def review(self, *, request_id: int, user_id: str) -> AccessRequest:
        """An owner's after-the-fact review of break-glass access (see access.break_glass)."""
        now = self._clock.now()
        with self._at_click(request_id, now) as current, self._store.unit_of_work() as uow:
            request = self._load(uow, request_id)
            saved = break_glass.record_review(uow, request, user_id=user_id, now=now, approvers=current)
            spec = self._integration(uow, saved.integration)
        self._refresh(saved, spec, event="break_glass_reviewed")
        return saved

    def deny(self, *, request_id: int, user_id: str, reason: str) -> AccessRequest:
        now = self._clock.now()
        with self._at_click(request_id, now) as current, self._store.unit_of_work() as uow:
            request = self._load(uow, request_id)
            text = policy.check_reason(reason)
            move = lambda r: lifecycle.deny(  # noqa: E731
                _deciding(r, current, user_id), user_id=user_id, reason=text, now=now)
            saved = uow.requests.save(self._decide(uow, request, user_id, move))
            self._audit(uow, saved, user_id, "denied", reason=text, via=current.via.get(user_id))
            spec = self._integration(uow, saved.integration)
        self._refresh(saved, spec, event="denied")
        self._group_summary(saved, spec)
        return saved

    def cancel(self, *, request_id: int, user_id: str) -> AccessRequest:
        now = self._clock.now()
        with self._store.unit_of_work() as uow:
            request = self._load(uow, request_id)
            move = lambda r: lifecycle.cancel(r, user_id=user_id, now=now)  # noqa: E731
            saved = uow.requests.save(self._decide(uow, request, user_id, move))
            self._audit(uow, saved, user_id, "cancelled")
            spec = self._integration(uow, saved.integration)
        self._refresh(saved, spec, event="cancelled")
        self._group_summary(saved, spec)
        return saved

    # --- helpers --------------------------------------------------------------------------------------

    def _matching(
        self, uow: UnitOfWork, requester: Requester, integration: str, resource_id: str
    ) -> tuple[IntegrationSpec, InventoryResource, list[AccessFlowSpec]]:
        spec = uow.integrations.get(integration)
        resource = uow.inventory.resource(integration=integration, atlas_id=resource_id)
        if spec is None or not spec.enabled or resource is None or not resource.present:
            raise RequestRefused("That resource is not in the inventory (any more). Run /atlas-sync or pick another.")
        flows = policy.flows_for(
            flows=uow.flows.list(enabled_only=True), requester=requester, resource=resource,
            directory=self._directory,
        )
        if not flows:
            raise RequestRefused(f"No access flow lets you ask for access to {resource.kind.value} {resource.name}.")
        return spec, resource, flows

    def _decide(
        self, uow: UnitOfWork, request: AccessRequest, user_id: str, move: Callable[[AccessRequest], AccessRequest]
    ) -> AccessRequest:
        try:
            return move(request)
        except (NotAllowed, AlreadyDecided) as refusal:
            self._audit(uow, request, user_id, "refused", reason=str(refusal))
            uow.commit()  # the refusal is on record even though the decision is not
            raise

    @contextmanager
    def _at_click(self, request_id: int, now: datetime) -> Iterator[Approvers]:
        """The request's approvers resolved again for this click, stored on the request first when they changed;
        if the click is then refused, the approval message is rendered anew so it names who may decide now."""
        current, changed = self._follow_approvers(request_id, now)
        try:
            yield current
        except (NotAllowed, AlreadyDecided):
            if changed:
                with self._store.unit_of_work() as uow:
                    request = self._load(uow, request_id)
                    spec = self._integration(uow, request.integration)
                self._refresh(request, spec, event=None)
            raise

    def _follow_approvers(self, request_id: int, now: datetime) -> tuple[Approvers, bool]:
        """Who may decide the request now, and whether that changed (and was stored). Slack is asked (the
        directory's answers are at most a minute old) outside any transaction; the store is a compare-and-set
        on the version read, so a concurrent change raises StaleWrite and the click is tried again."""
        with self._store.unit_of_work() as uow:
            request = self._load(uow, request_id)
            spec = self._integration(uow, request.integration)
            resource = uow.inventory.resource(integration=request.integration, atlas_id=request.resource_id)
        current = self._approvers_of(request, spec, resource)
        changed = _open(request) and (current.user_ids, current.group) != (request.approvers, request.approver_group)
        if changed:
            with self._store.unit_of_work() as uow:
                uow.requests.save(replace(request, approvers=current.user_ids, approver_group=current.group,
                                          updated_at=now))
        return current, changed

    def _approvers_of(self, request: AccessRequest, spec: IntegrationSpec,
                      resource: InventoryResource | None) -> Approvers:
        return steps.approvers_for(request, integration=spec, resource=resource, directory=self._directory,
                                   groups=self._groups)

    def _new_request(
        self, requester: Requester, spec: IntegrationSpec, flow: AccessFlowSpec, resource: InventoryResource,
        roles: tuple[str, ...], duration: timedelta, text: str, approvers: Approvers, now: object,
    ) -> AccessRequest:
        return AccessRequest(
            requester_id=requester.user_id, requester_email=requester.email, integration=spec.name,
            flow=flow.name, resource_kind=resource.kind, organization_id=resource.organization_id,
            resource_id=resource.atlas_id, resource_name=resource.name, roles=roles,
            duration_seconds=int(duration.total_seconds()), justification=text,
            approvers=approvers.user_ids, approver_group=approvers.group,
            approvals_required=sum(s.required for s in flow.approval_steps) if flow.approval_steps
            else flow.approvals_required, approval_steps=steps.rules_of(flow), channel=spec.approval_channel,
            break_glass=flow.break_glass, created_at=now, updated_at=now,  # type: ignore[arg-type]
            database_auth=flow.auth if resource.kind is ResourceKind.CLUSTER and flow.auth != "password" else None,
        )

    def _auto_approve(self, uow: UnitOfWork, request: AccessRequest, requester: Requester) -> Grant:
        now = self._clock.now()
        saved = uow.requests.save(lifecycle.auto_approve(request, now=now))
        self._audit(uow, saved, "auto", "approved", flow=saved.flow)
        return uow.grants.add(lifecycle.new_grant_for(saved, username=requester.email, now=now))

    def _approve_on_call(self, uow: UnitOfWork, request: AccessRequest, flow: AccessFlowSpec, note: OnCallNote,
                         requester: Requester, now: datetime) -> Grant:
        """Approved at once, as an ordinary grant (the owners may end it as any other), for what the rule allows."""
        rule = on_call.rule_of(flow)
        assert rule is not None
        asked = timedelta(seconds=request.duration_seconds)
        given = on_call.granted(rule=rule, note=note, asked=asked, now=now)
        shortened = given < asked
        approved = lifecycle.auto_approve(request, now=now)
        if shortened:
            why = "the shift ends sooner" if given < rule.max_duration else "the flow allows that much when on call"
            approved = replace(approved, duration_seconds=int(given.total_seconds()), outcome_note=(
                f"Approved for {selfservice.span_words(given)} instead of {selfservice.span_words(asked)}: {why}."))
        saved = uow.requests.save(approved)
        self._audit(uow, saved, "auto", "auto_approved_on_call", flow=flow.name, provider=note.provider,
                    schedule=note.schedule_id, schedule_name=note.schedule_name,
                    shift_start=note.shift_start.isoformat() if note.shift_start else None,
                    shift_end=note.shift_end.isoformat() if note.shift_end else None,
                    duration_seconds=saved.duration_seconds, asked_seconds=int(asked.total_seconds()))
        return uow.grants.add(lifecycle.new_grant_for(saved, username=requester.email, now=now))

    def _announce(self, request: AccessRequest, spec: IntegrationSpec) -> None:
        """Post the approval message and remember where it is, then tell the requester (only once it is posted:
        telling them it went to its approvers when it did not would be wrong, and a second time when it does)."""
        posted = self._safely(lambda: self._notifier.post_request(request=request, integration=spec))
        if not posted:
            return  # the requester hears once it is posted: the sweep announces requests left without a message
        channel, ts = posted
        with self._store.unit_of_work() as uow:
            current = self._load(uow, request.id or 0)
            uow.requests.save(replace(current, channel=channel, message_ts=ts))
        with self._store.unit_of_work() as uow:
            current = self._load(uow, request.id or 0)
            grant = uow.grants.for_request(current.id or 0)
        self._safely(lambda: self._notifier.tell_requester(
            request=current, grant=grant, event="requested", integration=spec))

    def _announce_group(self, group_id: str) -> None:
        """A request of several resources: one approval message per owner group (each part not posted yet), then
        one DM to the requester naming every item, once every part is posted."""
        with self._store.unit_of_work() as uow:
            items = uow.requests.in_group(group_id)
            specs = {r.integration: self._integration(uow, r.integration) for r in items}
        if not items:
            return
        posted_now = False
        for part in sorted({r.group_part for r in items}, key=lambda n: n if n is not None else -1):
            members = several.of_part(items, part)
            if all(r.message_ts for r in members):
                continue
            first = members[0]
            posted = self._safely(lambda first=first: self._notifier.post_request(  # type: ignore[misc]
                request=first, integration=specs[first.integration]))
            if not posted:
                return  # the sweep announces what is left without a message
            channel, ts = posted
            posted_now = True
            with self._store.unit_of_work() as uow:
                for member in members:
                    current = self._load(uow, member.id or 0)
                    uow.requests.save(replace(current, channel=channel, message_ts=ts))
        if not posted_now:
            return
        with self._store.unit_of_work() as uow:
            first = self._load(uow, items[0].id or 0)
            grant = uow.grants.for_request(first.id or 0)
        self._safely(lambda: self._notifier.tell_requester(
            request=first, grant=grant, event="requested", integration=specs[first.integration]))

    def _group_summary(self, request: AccessRequest, spec: IntegrationSpec) -> None:
        """An item of a request of several resources was decided: once none is left waiting, the requester gets one
        DM naming every item's outcome, exactly once (`several.claim_summary`), whichever decision came last."""
        if request.group_id is None or request.status is RequestStatus.PENDING:
            return
        if several.claim_summary(self._store, request, now=self._clock.now()) is None:
            return  # an item still waits, or another decision's thread (or replica) told it
        self._safely(lambda: self._notifier.tell_requester(request=request, grant=None, event="group_decided",
                                                           integration=spec))

    def _refresh(self, request: AccessRequest, spec: IntegrationSpec, *, event: str | None,
                 unless_granted: bool = False) -> None:
        """Render the approval message as stored and tell the requester `event` (`unless_granted`: not when the
        grant has already moved on, its own message having said so)."""
        with self._store.unit_of_work() as uow:
            current = uow.requests.get(request.id or 0) or request
            grant = uow.grants.for_request(current.id or 0)
        self._safely(lambda: self._notifier.update_request(request=current, grant=grant, integration=spec))
        if unless_granted and grant is not None and grant.status is not GrantStatus.GRANTING:
            return
        if event:
            self._safely(lambda: self._notifier.tell_requester(
                request=current, grant=grant, event=event, integration=spec))

    def _refused(self, requester: Requester, integration: str, resource_id: str, reason: str) -> None:
        with self._store.unit_of_work() as uow:
            uow.audit.add(AuditEvent(
                at=self._clock.now(), actor=requester.user_id, action="refused", integration=integration,
                detail={"resource_id": resource_id, "reason": reason},
            ))

    def _audit(self, uow: UnitOfWork, request: AccessRequest, actor: str, action: str, **detail: object) -> None:
        uow.audit.add(AuditEvent(
            at=self._clock.now(), actor=actor, action=action, integration=request.integration,
            request_id=request.id, detail={"resource": request.resource_name, **detail},
        ))

    @staticmethod
    def _load(uow: UnitOfWork, request_id: int) -> AccessRequest:
        request = uow.requests.get(request_id)
        if request is None:
            raise NotFound(f"request {request_id}")
        return request

    @staticmethod
    def _integration(uow: UnitOfWork, name: str) -> IntegrationSpec:
        spec = uow.integrations.get(name)
        if spec is None:
            raise NotFound(f"integration {name}")
        return spec

    @staticmethod
    def _safely(action: Callable[[], T]) -> T | None:
        try:
            return action()
        except Exception:  # Slack trouble must never undo or block a stored decision
            log.exception("notification failed")
            return None


NOT_AN_APPROVER_NOW = ("Only the request's approvers can decide it, and they are settled when you click (the "
                       "resource's owners, else the integration owners, as they are now): you are not one of them.")


def _open(request: AccessRequest) -> bool:
    """Whether a decision on the request is still to be made (its approvers then follow the owners)."""
    if request.break_glass:
        return request.status is RequestStatus.APPROVED and request.reviewed_by is None
    return request.status is RequestStatus.PENDING


def _deciding(request: AccessRequest, current: Approvers, user_id: str) -> AccessRequest:
    """`request`, once `user_id` is found among the approvers resolved for this click (a request already
    decided, or one's own, is left for the lifecycle to refuse in its own words)."""
    if _open(request) and user_id != request.requester_id and user_id not in current.user_ids:
        why = f" Right now {current.problem}, so the integration owners decide." if current.problem else ""
        raise NotAllowed(NOT_AN_APPROVER_NOW + why)
    return request

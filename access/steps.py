"""Multi-step approvals: a flow's ordered `approval_steps` (e.g. the resource's owners, then @atlas-security).

A request made under such a flow keeps the steps as they were (`AccessRequest.approval_steps`). Its current step is
the first whose approvals (each approval records its step) are fewer than the step requires; only that step's
approvers may decide, resolved at each click as every approver is (`approvers_for`): the resource's owners for an
`owners` step, else the step's principals as the directory answers now, so someone who left the group is refused.
Nobody approves their own request (nor one asked on their behalf, nor one they asked for someone) at any step, and
one person counts once per request: who approved an earlier step is not an approver of a later one. A deny at any
step ends the request. The request is approved once the last step has its approvals.
"""

from __future__ import annotations

from dataclasses import replace

from access import policy
from access.approver_groups import ApproverGroups
from access.config import OWNERS, AccessFlowSpec, IntegrationSpec
from access.entities import AccessRequest, Approval, InventoryResource, StepRule
from access.policy import Approvers
from access.ports import GroupDirectory


def rules_of(flow: AccessFlowSpec) -> tuple[StepRule, ...]:
    """The flow's steps as a request keeps them (empty: one approver list, as without steps)."""
    return tuple(StepRule(approvers=None if step.approvers == OWNERS else tuple(step.approvers), required=step.required)
                 for step in flow.approval_steps or ())


def current_step(request: AccessRequest) -> int | None:
    """The step (from 0) waiting for approvals; len(steps) once every step has them; None without steps."""
    if not request.approval_steps:
        return None
    for index, rule in enumerate(request.approval_steps):
        if sum(1 for a in request.approvals if a.step == index) < rule.required:
            return index
    return len(request.approval_steps)


def approvers_for(request: AccessRequest, *, integration: IntegrationSpec, resource: InventoryResource | None,
                  directory: GroupDirectory, groups: ApproverGroups | None = None) -> Approvers:
    """Who may decide `request` now: its current step's approvers (or, without steps, the resource's owners),
    never the requester nor whoever asked on their behalf, nor anyone who approved an earlier step."""
    owners = policy.approvers_now(integration=integration, kind=request.resource_kind, resource=resource,
                                  requester_id=request.requester_id, directory=directory, groups=groups)
    index = current_step(request)
    if index is None or index >= len(request.approval_steps):
        return owners
    rule = request.approval_steps[index]
    if rule.approvers is None:
        found, group = dict(owners.via), owners.group
    else:
        found = policy.owners_via(rule.approvers, directory, groups=groups, integration=integration)
        found = {user: f"step{index + 1}:{principal}" for user, principal in found.items()}
        single = rule.approvers[0] if len(rule.approvers) == 1 else ""
        group = single.removeprefix("@") if single.startswith("@") else None
    done = {a.user_id for a in request.approvals}
    for user in (request.requester_id, request.requested_by, *done):
        if user is not None:
            found.pop(user, None)
    return Approvers(user_ids=tuple(sorted(found)), group=group, via=found,
                     source="resource_owner" if rule.approvers is None and owners.source == "resource_owner"
                     else "step", okta_group=owners.okta_group if rule.approvers is None else None,
                     problem=owners.problem if rule.approvers is None else None)


def first_short_step(request: AccessRequest, *, integration: IntegrationSpec, resource: InventoryResource | None,
                     directory: GroupDirectory, groups: ApproverGroups | None = None) -> int | None:
    """The first step (from 0) that has fewer eligible approvers than it needs, for a new request; None if none."""
    for index, rule in enumerate(request.approval_steps):
        # as it would stand at that step: the steps before approved (by nobody who could decide this one)
        earlier = tuple(Approval(user_id=f"~step{i}:{n}", at=request.created_at, step=i)
                        for i, before in enumerate(request.approval_steps[:index]) for n in range(before.required))
        found = approvers_for(replace(request, approvals=earlier), integration=integration, resource=resource,
                              directory=directory, groups=groups)
        if len(found.user_ids) < rule.required:
            return index
    return None


def rule_words(rule: StepRule) -> str:
    """`the resource's owners` or `@atlas-security, U0ABC` (plain text, for a person to read)."""
    return "the resource's owners" if rule.approvers is None else ", ".join(rule.approvers)

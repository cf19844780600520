"""Access rules: which flows let a person ask for what, how long, and who approves.

Pure functions over specs, inventory rows and a group directory; table-driven tests live in tests/access/.
Two rules carry the product's promises: a break-glass flow is chosen only when the requester says it is an
emergency (and then only such a flow), and approvers are resolved again, from the directory as it is, whenever
a decision is clicked (`approvers_now`), each with the group or rule they qualify through.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from access.approver_groups import OKTA_GROUP, ApproverGroups
from access.config import EVERYONE, AccessFlowSpec, IntegrationSpec, ResourceOwner, format_duration
from access.connections import okta_group_of
from access.database_roles import MAX_LIFETIME, is_database_role
from access.entities import InventoryResource
from access.errors import FieldErrors, RequestRefused
from access.model import ResourceKind
from access.network import NetworkRefused, parse_network
from access.ports import GroupDirectory
from access.text import MAX_JUSTIFICATION, MAX_REASON, one_line

MIN_JUSTIFICATION = 10
MIN_REASON = 3


@dataclass(frozen=True, kw_only=True)
class Requester:
    user_id: str
    email: str


@dataclass(frozen=True, kw_only=True)
class Approvers:
    """Who may decide a request: Slack user ids, and the user group to mention when owners come from a tag."""

    user_ids: tuple[str, ...]
    group: str | None  # handle of the resource-owner user group, when it is the source
    source: str  # "resource_owner" | "integration_owners"
    # How each approver qualifies, for the audit trail: "resource_owner:@payments-oncall", or
    # "integration_owners:<the principal as configured>" (the first one naming them).
    via: Mapping[str, str] = field(default_factory=dict)
    okta_group: str | None = None  # the resource-owner Okta group, when it is the source
    problem: str | None = None  # why the owner group was passed over although it is named (Okta unreachable…)


def principal_matches(principal: str, requester: Requester, directory: GroupDirectory) -> bool:
    """Whether `requester` is the principal: everyone, a user id, an email, or a member of a user group."""
    if principal == EVERYONE:
        return True
    if principal[0] in "UW" and not principal.startswith("@") and "@" not in principal:
        return principal == requester.user_id
    if "@" in principal and not principal.startswith("@"):
        return principal.lower() == requester.email.lower()
    members = directory.group_members(principal.removeprefix("@"))
    return members is not None and requester.user_id in members


def may_ask_for_others(flow: AccessFlowSpec, asker: Requester, directory: GroupDirectory, *, admin: bool) -> bool:
    """Whether `asker` may ask for someone else through `flow`: an admin, or one of its `delegates`."""
    return admin or any(principal_matches(p, asker, directory) for p in flow.delegates)


def resource_matches(flow: AccessFlowSpec, resource: InventoryResource) -> bool:
    """Whether the flow's resource selector (types, name globs, tag filters) covers `resource`."""
    if flow.integration != resource.integration or resource.kind not in flow.resources.types:
        return False
    names = _names(resource)
    if not any(fnmatch.fnmatchcase(name, pattern) for pattern in flow.resources.names for name in names):
        return False
    return all(resource.tags.get(key) == value for key, value in flow.resources.tags.items())


def _names(resource: InventoryResource) -> tuple[str, ...]:
    """What a name pattern is matched against: a cluster answers to `project/cluster` and to its bare name."""
    if resource.kind is ResourceKind.CLUSTER:
        return (resource.name, resource.name.rpartition("/")[2])
    return (resource.name,)


def flows_for(
    *,
    flows: Iterable[AccessFlowSpec],
    requester: Requester,
    resource: InventoryResource,
    directory: GroupDirectory,
) -> list[AccessFlowSpec]:
    """The enabled flows that let `requester` ask for access to `resource`."""
    return [
        flow
        for flow in flows
        if flow.enabled
        and resource_matches(flow, resource)
        and any(principal_matches(p, requester, directory) for p in flow.requesters)
    ]


def may_request_somewhere(flow: AccessFlowSpec, requester: Requester, directory: GroupDirectory) -> bool:
    return flow.enabled and any(principal_matches(p, requester, directory) for p in flow.requesters)


def roles_offered(flows: Sequence[AccessFlowSpec], kind: ResourceKind, integration: IntegrationSpec) -> list[str]:
    """Roles the matching flows offer on a resource of `kind`, in the flows' order, without repeats."""
    fitting = set(integration.roles_for(kind))
    seen: dict[str, None] = {}
    for flow in flows:
        for role in flow.roles:
            if role in fitting or (kind is ResourceKind.CLUSTER and is_database_role(role)):
                seen.setdefault(role)
    return list(seen)


def choose_flow(
    flows: Sequence[AccessFlowSpec], roles: Sequence[str], duration: timedelta, *, emergency: bool
) -> AccessFlowSpec:
    """The flow that covers every role asked for within its maximum duration.

    `emergency` (the requester ticked "This is an emergency") picks among the break-glass flows only; without it
    only ordinary flows count, so an emergency path is never taken by accident and an emergency never waits for
    approval. A refusal says when the other kind of flow would have covered the request. Among several flows,
    auto-approval first, then fewer approvals, then the name (a stable order).
    """
    if not roles:
        raise FieldErrors({"roles": "Pick at least one role."})
    chosen = [f for f in flows if f.break_glass is emergency]
    others = [f for f in flows if f.break_glass is not emergency]
    if not chosen:
        raise FieldErrors({"emergency": _ONLY_GLASS if not emergency else _NO_GLASS})
    covering = [f for f in chosen if set(roles) <= set(f.roles)]
    other_covering = [f for f in others if set(roles) <= set(f.roles)]
    if not covering:
        raise RequestRefused(_uncovered(emergency, bool(other_covering)))
    in_time = [f for f in covering if duration <= f.max_duration]
    if not in_time:
        raise FieldErrors({"duration": _too_long(emergency, covering, other_covering)})
    return sorted(in_time, key=lambda f: (f.approval != "auto", f.approvals_required, f.name))[0]


TICK = "tick “This is an emergency” if it is one"
_ONLY_GLASS = f"Only emergency (break-glass) access is offered on this resource: {TICK}."
_NO_GLASS = "There is no emergency (break-glass) access on this resource: untick the box to ask its approvers."


def _uncovered(emergency: bool, other_kind_covers: bool) -> str:
    if emergency:
        return "No emergency (break-glass) flow offers all of those roles on that resource together."
    hint = f", except an emergency (break-glass) grant: {TICK}" if other_kind_covers else ""
    return f"No access flow offers all of those roles on that resource together{hint}."


def _too_long(emergency: bool, covering: list[AccessFlowSpec], other_covering: list[AccessFlowSpec]) -> str:
    longest = max(f.max_duration for f in covering)
    if emergency:
        return f"The longest emergency (break-glass) grant is {format_duration(longest)}."
    said = f"The longest you may ask for is {format_duration(longest)}."
    emergency_longest = max((f.max_duration for f in other_covering), default=longest)
    if emergency_longest > longest:
        said += (f" An emergency (break-glass) grant of up to {format_duration(emergency_longest)} is available: "
                 f"{TICK}.")
    return said


def check_justification(flow: AccessFlowSpec, text: str) -> str:
    """The justification, cleaned (see access.text); a required one must say something (at least a few words'
    worth), and none may be longer than the form allows."""
    cleaned = one_line(text)
    if len(cleaned) > MAX_JUSTIFICATION:
        raise FieldErrors({"justification": f"Keep it to {MAX_JUSTIFICATION} characters: a ticket link says more."})
    if flow.justification == "required" and len(cleaned) < MIN_JUSTIFICATION:
        raise FieldErrors(
            {"justification": f"Say why you need this access (at least {MIN_JUSTIFICATION} characters)."}
        )
    return cleaned


def check_reason(text: str) -> str:
    """A decision's reason, cleaned: it must say something, and fit the deny form's field."""
    cleaned = one_line(text)
    if len(cleaned) < MIN_REASON:
        raise FieldErrors({"reason": "Say why, so the requester knows what to change."})
    if len(cleaned) > MAX_REASON:
        raise FieldErrors({"reason": f"Keep the reason to {MAX_REASON} characters."})
    return cleaned


def check_approval_reason(text: str) -> str:
    """An approval's reason, cleaned: it may be empty (a flow may require one), and must fit the modal's field."""
    cleaned = one_line(text)
    if len(cleaned) > MAX_REASON:
        raise FieldErrors({"reason": f"Keep the reason to {MAX_REASON} characters."})
    return cleaned


def check_start(start: datetime | None, flow: AccessFlowSpec, *, now: datetime) -> None:
    """A scheduled start must be later than now, and no further ahead than the flow's `max_schedule_ahead`."""
    if start is None:
        return
    if flow.break_glass:
        raise FieldErrors({"start": "Break-glass access is for now: leave the start empty."})
    if start <= now:
        raise FieldErrors({"start": "That start is in the past: pick a later time, or leave it empty to start once "
                                    "approved."})
    if start > now + flow.max_schedule_ahead:
        raise FieldErrors({"start": f"The flow {flow.name} lets access start at most "
                                    f"{format_duration(flow.max_schedule_ahead)} ahead."})


def check_duration(duration: timedelta, *, kind: ResourceKind | None = None) -> None:
    if duration <= timedelta(0):
        raise FieldErrors({"duration": "The duration must be longer than zero."})
    if kind is ResourceKind.CLUSTER and duration > MAX_LIFETIME:
        raise FieldErrors({"duration": "Atlas deletes temporary database users within 7 days: ask for 7d or less."})


def resolve_owner_principals(principals: Iterable[str], directory: GroupDirectory) -> set[str]:
    """Slack user ids for a list of principals (users, user groups, emails); unknown ones contribute nobody."""
    return set(owners_via(principals, directory))


def owners_via(principals: Iterable[str], directory: GroupDirectory, *, groups: ApproverGroups | None = None,
               integration: IntegrationSpec | None = None) -> dict[str, str]:
    """Slack user id -> the first principal (user, user group, email or `okta:<group>`, as written) naming them.

    An Okta group counts only with `groups` and `integration` (its connection); one that cannot be read names
    nobody."""
    found: dict[str, str] = {}
    for principal in principals:
        okta = okta_group_of(principal)
        users: Iterable[str]
        if okta is not None:
            answer = groups.members(kind=OKTA_GROUP, name=okta, integration=integration) \
                if groups is not None and integration is not None else None
            users = sorted(answer.members) if answer is not None else ()
        elif principal.startswith("@") or (principal.startswith("S") and "@" not in principal):
            users = sorted(directory.group_members(principal.removeprefix("@")) or ())
        elif "@" in principal:
            user = directory.user_id_for_email(principal)
            users = (user,) if user else ()
        else:
            users = (principal,)
        for user in users:
            found.setdefault(user, principal)
    return found


def resolve_approvers(
    *,
    integration: IntegrationSpec,
    resource: InventoryResource,
    requester: Requester,
    directory: GroupDirectory,
    groups: ApproverGroups | None = None,
) -> Approvers:
    """The resource owner group named by the project's owner tag, else the integration owners.

    The owner group is passed over when it is unknown, empty, or holds only the requester (nobody may
    approve their own request). The requester is never among the approvers.
    """
    return approvers_now(integration=integration, kind=resource.kind, resource=resource,
                         requester_id=requester.user_id, directory=directory, groups=groups)


def approvers_now(
    *,
    integration: IntegrationSpec,
    kind: ResourceKind,
    resource: InventoryResource | None,
    requester_id: str,
    directory: GroupDirectory,
    groups: ApproverGroups | None = None,
) -> Approvers:
    """Who may decide a request on a resource of `kind`, from the directory as it answers now.

    Run when the request is made and again at every click on it, so someone who left the owner group can no
    longer decide and someone who joined it can. `resource` is the inventory's row as it is now; without one
    (the resource has left the inventory) there is no owner tag to read, and the integration owners decide.
    Each person counts once, through the first group or rule that names them (`via`). The owner tag names a
    Slack user group or an Okta group (`resource_owner.attribute`), read through `groups` (the Directory of
    approver groups): one that is unknown, empty or cannot be read now falls back to the integration owners.
    """
    groups = groups if groups is not None else ApproverGroups(people=directory)
    owner = integration.resource_owner
    problem = None
    if owner is not None and resource is not None and kind in (ResourceKind.PROJECT, ResourceKind.CLUSTER):
        okta = owner.attribute == OKTA_GROUP
        handle = resource.tags.get(owner.tag_key, "").strip()
        handle = handle if okta else handle.removeprefix("@")
        answer = groups.members(kind=owner.attribute, name=handle, integration=integration) if handle else None
        eligible = sorted((answer.members if answer is not None else frozenset()) - {requester_id})
        if eligible:
            via = f"resource_owner:okta:{handle}" if okta else f"resource_owner:@{handle}"
            return Approvers(user_ids=tuple(eligible), group=None if okta else handle, source="resource_owner",
                             via=dict.fromkeys(eligible, via), okta_group=handle if okta else None)
        if answer is not None and answer.problem:
            problem = f"the owner group {handle} could not be read ({answer.problem})"
    if owner is not None and resource is not None and kind is ResourceKind.TEAM:
        found = _team_owners(owner, integration, resource, requester_id, groups)
        if isinstance(found, Approvers):
            return found
        problem = found
    owners = owners_via(integration.integration_owners, directory, groups=groups, integration=integration)
    owners.pop(requester_id, None)
    return Approvers(user_ids=tuple(sorted(owners)), group=None, source="integration_owners",
                     via={user: f"integration_owners:{principal}" for user, principal in sorted(owners.items())},
                     problem=problem)


def _team_owners(owner: ResourceOwner, integration: IntegrationSpec, resource: InventoryResource,
                 requester_id: str, groups: ApproverGroups) -> Approvers | str | None:
    """A team's owners: everyone in the owner groups of all the projects it holds roles on (joining the team gives
    those roles, so each project's owners may decide), each counted once through the first group naming them.
    None of them named, readable or holding anyone but the requester: the integration owners decide (the
    returned text says why, when a group could not be read)."""
    okta = owner.attribute == OKTA_GROUP
    via: dict[str, str] = {}
    handles: list[str] = []
    problem = None
    for project in resource.team_projects:
        handle = project.tags.get(owner.tag_key, "").strip()
        handle = handle if okta else handle.removeprefix("@")
        if not handle or handle in handles:
            continue
        handles.append(handle)
        answer = groups.members(kind=owner.attribute, name=handle, integration=integration)
        if answer.problem:
            problem = f"the owner group {handle} could not be read ({answer.problem})"
        for member in sorted(answer.members - {requester_id}):
            via.setdefault(member, f"resource_owner:okta:{handle}" if okta else f"resource_owner:@{handle}")
    if not via:
        return problem
    group = handles[0] if len(handles) == 1 and not okta else None
    return Approvers(user_ids=tuple(sorted(via)), group=group, source="resource_owner", via=via,
                     okta_group=handles[0] if okta and len(handles) == 1 else None)


def check_network(flow: AccessFlowSpec, typed: str | None) -> str | None:
    """The CIDR block a flow with `network_access` opens (FieldErrors on the `network` field when it is missing or
    not one the bot will add); None for a flow without it, whatever was typed."""
    if flow.network_access is None:
        return None
    try:
        return parse_network(typed or "", widest_v4=flow.network_max_prefix)
    except NetworkRefused as refused:
        raise FieldErrors({"network": str(refused)}) from None

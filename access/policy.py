"""Access rules: which flows let a person ask for what, how long, and who approves.

Pure functions over specs, inventory rows and a group directory; table-driven tests live in tests/access/.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from access.config import EVERYONE, AccessFlowSpec, IntegrationSpec, format_duration
from access.database_roles import MAX_LIFETIME, is_database_role
from access.entities import InventoryResource
from access.errors import FieldErrors, RequestRefused
from access.model import ResourceKind
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


def choose_flow(flows: Sequence[AccessFlowSpec], roles: Sequence[str], duration: timedelta) -> AccessFlowSpec:
    """The flow that covers every role asked for within its maximum duration.

    Among several, auto-approval first, then fewer approvals, then the name (a stable order); a break-glass
    flow only when no other flow covers the request (an emergency path is never taken by accident).
    """
    if not roles:
        raise FieldErrors({"roles": "Pick at least one role."})
    covering = [f for f in flows if set(roles) <= set(f.roles)]
    if not covering:
        raise RequestRefused("No access flow offers all of those roles on that resource together.")
    in_time = [f for f in covering if duration <= f.max_duration]
    if not in_time:
        longest = max(f.max_duration for f in covering)
        raise FieldErrors({"duration": f"The longest you may ask for is {format_duration(longest)}."})
    return sorted(in_time, key=lambda f: (f.break_glass, f.approval != "auto", f.approvals_required, f.name))[0]


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


def check_duration(duration: timedelta, *, kind: ResourceKind | None = None) -> None:
    if duration <= timedelta(0):
        raise FieldErrors({"duration": "The duration must be longer than zero."})
    if kind is ResourceKind.CLUSTER and duration > MAX_LIFETIME:
        raise FieldErrors({"duration": "Atlas deletes temporary database users within 7 days: ask for 7d or less."})


def resolve_owner_principals(principals: Iterable[str], directory: GroupDirectory) -> set[str]:
    """Slack user ids for a list of principals (users, user groups, emails); unknown ones contribute nobody."""
    users: set[str] = set()
    for principal in principals:
        if principal.startswith("@") or principal.startswith("S"):
            users |= directory.group_members(principal.removeprefix("@")) or frozenset()
        elif "@" in principal:
            found = directory.user_id_for_email(principal)
            if found:
                users.add(found)
        else:
            users.add(principal)
    return users


def resolve_approvers(
    *,
    integration: IntegrationSpec,
    resource: InventoryResource,
    requester: Requester,
    directory: GroupDirectory,
) -> Approvers:
    """The resource owner group named by the project's owner tag, else the integration owners.

    The owner group is passed over when it is unknown, empty, or holds only the requester (nobody may
    approve their own request). The requester is never among the approvers.
    """
    owner = integration.resource_owner
    if owner is not None and resource.kind in (ResourceKind.PROJECT, ResourceKind.CLUSTER):
        handle = resource.tags.get(owner.tag_key, "").strip().removeprefix("@")
        members = directory.group_members(handle) if handle else None
        eligible = sorted((members or frozenset()) - {requester.user_id})
        if eligible:
            return Approvers(user_ids=tuple(eligible), group=handle, source="resource_owner")
    owners = resolve_owner_principals(integration.integration_owners, directory) - {requester.user_id}
    return Approvers(user_ids=tuple(sorted(owners)), group=None, source="integration_owners")

"""The owner-tag lint after a sync: projects the resource-owner rule cannot route to an owner group.

A project without the owner tag, or whose tag names a group (a Slack user group, or an Okta group where the
integration says so) that is unknown, has no members, or cannot be read now (Okta unreachable, no Okta
connection), falls back to the integration owners for approval; the admins should know which ones do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from access.approver_groups import OKTA_GROUP, ApproverGroups, GroupState
from access.config import IntegrationSpec
from access.entities import InventoryResource
from access.model import ResourceKind
from access.ports import GroupDirectory, Store
from bot.slack import mrkdwn

_SHOWN = 15


@dataclass(frozen=True, kw_only=True)
class OwnerLint:
    tag_key: str
    untagged: tuple[str, ...] = ()
    unknown: tuple[tuple[str, str], ...] = ()  # (project, group handle or name)
    empty: tuple[tuple[str, str], ...] = ()
    unreachable: tuple[tuple[str, str], ...] = ()  # the group's source could not say (Okta)
    okta: bool = False  # the tag names Okta groups
    problem: str | None = None  # why they could not be read

    @property
    def clean(self) -> bool:
        return not (self.untagged or self.unknown or self.empty or self.unreachable)


def lint_owner_tags(*, projects: Sequence[InventoryResource], tag_key: str, directory: GroupDirectory | None = None,
                    groups: ApproverGroups | None = None, integration: IntegrationSpec | None = None) -> OwnerLint:
    """The lint of `projects`: through `groups` for the integration (Slack or Okta groups as it says), or the
    Slack `directory` alone."""
    okta = integration is not None and integration.resource_owner is not None \
        and integration.resource_owner.attribute == OKTA_GROUP
    found: dict[str, list[tuple[str, str]]] = {"unknown": [], "empty": [], "unreachable": []}
    untagged, problem = [], None
    answers: dict[str, tuple[GroupState, frozenset[str], str | None]] = {}
    for project in sorted(projects, key=lambda p: p.name.lower()):
        raw = project.tags.get(tag_key, "").strip()
        name = raw if okta else raw.removeprefix("@")
        if not name:
            untagged.append(project.name)
            continue
        if name not in answers:  # one question per group, however many projects it owns
            answers[name] = _answer(name, okta, directory, groups, integration)
        state, members, why = answers[name]
        problem = problem or why
        if state is not GroupState.FOUND:
            found["unknown" if state is GroupState.UNKNOWN else "unreachable"].append((project.name, name))
        elif not members:
            found["empty"].append((project.name, name))
    return OwnerLint(tag_key=tag_key, untagged=tuple(untagged), unknown=tuple(found["unknown"]),
                     empty=tuple(found["empty"]), unreachable=tuple(found["unreachable"]), okta=okta, problem=problem)


def _answer(name: str, okta: bool, directory: GroupDirectory | None, groups: ApproverGroups | None,
            integration: IntegrationSpec | None) -> tuple[GroupState, frozenset[str], str | None]:
    if groups is not None and integration is not None:
        answer = groups.members(kind=OKTA_GROUP if okta else "slack_usergroup", name=name, integration=integration)
        return answer.state, answer.members, answer.problem
    members = directory.group_members(name) if directory is not None else None
    return (GroupState.UNKNOWN, frozenset(), None) if members is None else (GroupState.FOUND, members, None)


def lint_integration(*, store: Store, integration: str, directory: GroupDirectory | None = None,
                     groups: ApproverGroups | None = None) -> OwnerLint | None:
    """The lint of one integration's present projects; None when it has no resource owner tag configured."""
    with store.unit_of_work() as uow:
        spec = uow.integrations.get(integration)
        if spec is None or spec.resource_owner is None:
            return None
        projects = uow.inventory.resources(integration=integration, kind=ResourceKind.PROJECT, limit=100_000)
    return lint_owner_tags(projects=projects, tag_key=spec.resource_owner.tag_key, directory=directory,
                           groups=groups, integration=spec)


def lint_words(lint: OwnerLint | None) -> str:
    """The lint as a few lines for the sync message."""
    if lint is None:
        return "Owner tags: no resource owner tag is configured, so the integration owners approve everything."
    key = mrkdwn.code(lint.tag_key)
    kind = "Okta group" if lint.okta else "user group"
    if lint.clean:
        return f":white_check_mark: Owner tags: every project's {key} tag names a {kind} with members."
    lines = [f":warning: Owner tags: these projects go to the integration owners instead of a {key} group:"]
    if lint.untagged:
        lines.append(f"• no {key} tag ({len(lint.untagged)}): {_names(list(lint.untagged))}")
    if lint.unknown:
        lines.append(f"• unknown {kind} ({len(lint.unknown)}): {_pairs(lint.unknown, lint.okta)}")
    if lint.empty:
        members = "no members in Slack" if lint.okta else "no members"
        lines.append(f"• {kind} with {members} ({len(lint.empty)}): {_pairs(lint.empty, lint.okta)}")
    if lint.unreachable:
        why = f" ({mrkdwn.line(lint.problem)})" if lint.problem else ""
        lines.append(f"• {kind} that could not be read{why} ({len(lint.unreachable)}): "
                     f"{_pairs(lint.unreachable, lint.okta)}")
    return "\n".join(lines)


def _names(names: list[str]) -> str:
    more = f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
    return ", ".join(mrkdwn.line(name) for name in names[:_SHOWN]) + more


def _pairs(pairs: tuple[tuple[str, str], ...], okta: bool = False) -> str:
    return _names([f"{project} ({'' if okta else '@'}{handle})" for project, handle in pairs])

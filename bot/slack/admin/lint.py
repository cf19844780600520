"""The owner-tag lint after a sync: projects the resource-owner rule cannot route to a Slack user group.

A project without the owner tag, or whose tag names a user group Slack does not know or one with no members,
falls back to the integration owners for approval; the admins should know which ones do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from access.entities import InventoryResource
from access.model import ResourceKind
from access.ports import GroupDirectory, Store
from bot.slack import mrkdwn

_SHOWN = 15


@dataclass(frozen=True, kw_only=True)
class OwnerLint:
    tag_key: str
    untagged: tuple[str, ...] = ()
    unknown: tuple[tuple[str, str], ...] = ()  # (project, group handle)
    empty: tuple[tuple[str, str], ...] = ()

    @property
    def clean(self) -> bool:
        return not (self.untagged or self.unknown or self.empty)


def lint_owner_tags(*, projects: Sequence[InventoryResource], tag_key: str, directory: GroupDirectory) -> OwnerLint:
    untagged, unknown, empty = [], [], []
    for project in sorted(projects, key=lambda p: p.name.lower()):
        handle = project.tags.get(tag_key, "").strip().removeprefix("@")
        if not handle:
            untagged.append(project.name)
            continue
        members = directory.group_members(handle)
        if members is None:
            unknown.append((project.name, handle))
        elif not members:
            empty.append((project.name, handle))
    return OwnerLint(tag_key=tag_key, untagged=tuple(untagged), unknown=tuple(unknown), empty=tuple(empty))


def lint_integration(*, store: Store, integration: str, directory: GroupDirectory) -> OwnerLint | None:
    """The lint of one integration's present projects; None when it has no resource owner tag configured."""
    with store.unit_of_work() as uow:
        spec = uow.integrations.get(integration)
        if spec is None or spec.resource_owner is None:
            return None
        projects = uow.inventory.resources(integration=integration, kind=ResourceKind.PROJECT, limit=100_000)
    return lint_owner_tags(projects=projects, tag_key=spec.resource_owner.tag_key, directory=directory)


def lint_words(lint: OwnerLint | None) -> str:
    """The lint as a few lines for the sync message."""
    if lint is None:
        return "Owner tags: no resource owner tag is configured, so the integration owners approve everything."
    key = mrkdwn.code(lint.tag_key)
    if lint.clean:
        return f":white_check_mark: Owner tags: every project's {key} tag names a user group with members."
    lines = [f":warning: Owner tags: these projects go to the integration owners instead of a {key} group:"]
    if lint.untagged:
        lines.append(f"• no {key} tag ({len(lint.untagged)}): {_names(list(lint.untagged))}")
    if lint.unknown:
        lines.append(f"• unknown user group ({len(lint.unknown)}): {_pairs(lint.unknown)}")
    if lint.empty:
        lines.append(f"• user group with no members ({len(lint.empty)}): {_pairs(lint.empty)}")
    return "\n".join(lines)


def _names(names: list[str]) -> str:
    more = f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
    return ", ".join(mrkdwn.line(name) for name in names[:_SHOWN]) + more


def _pairs(pairs: tuple[tuple[str, str], ...]) -> str:
    return _names([f"{project} (@{handle})" for project, handle in pairs])

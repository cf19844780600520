"""Words for what a sync changed, shared by the CLI and the /atlas-sync message."""

from __future__ import annotations

from access.entities import SyncChanges

_SHOWN = 10


def _listing(label: str, names: tuple[str, ...]) -> str | None:
    if not names:
        return None
    shown = ", ".join(names[:_SHOWN]) + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")
    return f"  {label} ({len(names)}): {shown}"


def describe_changes(integration: str, changes: SyncChanges) -> str:
    counts = changes.counts
    head = (f"{integration}: {counts.get('organizations', 0)} organizations, {counts.get('projects', 0)} projects, "
            f"{counts.get('clusters', 0)} clusters, {counts.get('users', 0)} users"
            + (f", {counts['teams']} teams" if counts.get("teams") else ""))
    lines = [head]
    for label, names in (
        ("new projects", changes.added_projects), ("removed projects", changes.removed_projects),
        ("new clusters", changes.added_clusters), ("removed clusters", changes.removed_clusters),
        ("new users", changes.added_users), ("removed users", changes.removed_users),
    ):
        line = _listing(label, names)
        if line:
            lines.append(line)
    if changes.empty:
        lines.append("  no changes")
    return "\n".join(lines)

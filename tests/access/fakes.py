"""The directory of Slack users and groups for the pure domain tests: the shared FakeDirectory (tests/fakes), built
from a map of groups (by handle or id) and a map of user ids to emails."""

from __future__ import annotations

from tests.fakes import FakeDirectory


def Directory(groups: dict[str, set[str]] | None = None, emails: dict[str, str] | None = None  # noqa: N802
              ) -> FakeDirectory:
    directory = FakeDirectory()
    for key, members in (groups or {}).items():
        directory.add_group(key, key, members)
    for user_id, email in (emails or {}).items():
        directory.add_user(user_id, email)
    return directory

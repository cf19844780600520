"""A directory of Slack users and groups for the pure domain tests (a fake of the GroupDirectory port)."""

from __future__ import annotations


class Directory:
    def __init__(self, groups: dict[str, set[str]] | None = None, emails: dict[str, str] | None = None) -> None:
        self.groups = {k: frozenset(v) for k, v in (groups or {}).items()}
        self.emails = emails or {}

    def group_members(self, handle_or_id: str) -> frozenset[str] | None:
        return self.groups.get(handle_or_id)

    def user_id_for_email(self, email: str) -> str | None:
        return next((uid for uid, mail in self.emails.items() if mail == email), None)

    def email_for_user(self, user_id: str) -> str | None:
        return self.emails.get(user_id)

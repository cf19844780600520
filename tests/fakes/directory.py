"""FakeDirectory: Slack's users and user groups as the `GroupDirectory` port answers about them
(checked against `bot.slack.directory.SlackDirectory` over the fake Slack by tests/contracts).

Groups are found by id or handle (with or without `@`, in any case); a disabled group, a deactivated user or a
bot is unknown; emails match without regard to case. `trouble` makes every answer "unknown" (None), as Slack
errors do through the real directory. Changes show at once, as the real one with a cache time of zero.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field


@dataclass
class _Group:
    id: str
    handle: str
    members: frozenset[str]
    disabled: bool = False


@dataclass
class _User:
    id: str
    email: str | None
    deleted: bool = False
    is_bot: bool = False


@dataclass
class FakeDirectory:
    _groups: dict[str, _Group] = field(default_factory=dict)
    _users: dict[str, _User] = field(default_factory=dict)
    trouble: bool = False  # Slack unreachable: every answer is "unknown"
    questions: int = 0  # how many times the port was asked (for tests that care that it was asked at all)

    # --- seeding and changes -----------------------------------------------------------------------------

    def add_user(self, user_id: str, email: str | None = None, *, is_bot: bool = False) -> FakeDirectory:
        self._users[user_id] = _User(id=user_id, email=email, is_bot=is_bot)
        return self

    def add_group(self, group_id: str, handle: str, members: list[str] | set[str] | tuple[str, ...] = ()
                  ) -> FakeDirectory:
        self._groups[group_id] = _Group(id=group_id, handle=handle.removeprefix("@"), members=frozenset(members))
        return self

    def set_members(self, handle_or_id: str, members: list[str] | set[str] | tuple[str, ...]) -> None:
        self._find(handle_or_id).members = frozenset(members)

    def join(self, handle_or_id: str, user_id: str) -> None:
        group = self._find(handle_or_id)
        group.members = group.members | {user_id}

    def leave(self, handle_or_id: str, user_id: str) -> None:
        group = self._find(handle_or_id)
        group.members = group.members - {user_id}

    def disable_group(self, handle_or_id: str) -> None:
        self._find(handle_or_id).disabled = True

    def deactivate(self, user_id: str) -> None:
        self._users[user_id].deleted = True

    # --- the port ----------------------------------------------------------------------------------------

    def group_members(self, handle_or_id: str) -> frozenset[str] | None:
        self.questions += 1
        if self.trouble:
            return None
        group = self._lookup(handle_or_id)
        return None if group is None or group.disabled else group.members

    def user_id_for_email(self, email: str) -> str | None:
        self.questions += 1
        wanted = email.strip().lower()
        if self.trouble or not wanted:
            return None
        return next((u.id for u in self._users.values()
                     if u.email is not None and u.email.lower() == wanted and not u.deleted and not u.is_bot), None)

    def user_ids_for_emails(self, emails: Collection[str]) -> dict[str, str]:
        self.questions += 1
        if self.trouble:
            return {}
        wanted = {email.strip().lower() for email in emails if email.strip()}
        return {u.email.lower(): u.id for u in self._users.values()
                if u.email is not None and u.email.lower() in wanted and not u.deleted and not u.is_bot}

    def email_for_user(self, user_id: str) -> str | None:
        self.questions += 1
        user = self._users.get(user_id)
        if self.trouble or user is None or user.deleted or user.is_bot:
            return None
        return user.email or None

    # --- helpers -----------------------------------------------------------------------------------------

    def _lookup(self, handle_or_id: str) -> _Group | None:
        key = handle_or_id.strip().removeprefix("@")
        if key in self._groups:
            return self._groups[key]
        return next((g for g in self._groups.values() if g.handle == key), None) or next(
            (g for g in self._groups.values() if g.handle.lower() == key.lower()), None)

    def _find(self, handle_or_id: str) -> _Group:
        group = self._lookup(handle_or_id)
        if group is None:
            raise KeyError(f"no user group {handle_or_id}")
        return group

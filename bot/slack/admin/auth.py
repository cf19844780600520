"""Who may administer atlas-access: the users and user groups in ATLAS_ACCESS_ADMINS, checked at every action.

Nothing a payload carries (a button value, private_metadata) is trusted as authority: every command, click
and submission asks again, from the settings and Slack's directory. A refusal is audited.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from access.admin import ConfigService
from access.ports import GroupDirectory
from bot.slack import messages
from bot.slack import payloads as p
from bot.slack.admin import words
from bot.slack.directory import SlackDirectory

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_GROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")


def is_admin(user_id: str, admins: Sequence[str], directory: GroupDirectory) -> bool:
    """Whether `user_id` is named in `admins`: as a user id (U…/W…), through a user group (S… or @handle), or by
    email. User groups are only looked up when no entry names the user directly."""
    entries = [entry.strip() for entry in admins if entry.strip()]
    if user_id in entries:
        return True
    for entry in entries:
        if entry.startswith("@") or _GROUP_ID.match(entry):
            if user_id in (directory.group_members(entry.removeprefix("@")) or frozenset()):
                return True
        elif "@" in entry and not _USER_ID.match(entry) and directory.user_id_for_email(entry) == user_id:
            return True
    return False


class AdminGuard:
    """`refusal(...)`: None for an admin of this workspace; otherwise the words to say, with the refusal audited."""

    def __init__(self, *, admins: Sequence[str], directory: SlackDirectory, config: ConfigService) -> None:
        self._admins = tuple(admins)
        self._directory = directory
        self._config = config

    def refusal(self, *, body: dict[str, Any], our_team: str | None, action: str) -> str | None:
        user_id = p.user_of(body)
        if p.is_foreign(body, our_team):
            reason = messages.FOREIGN_TEAM
        elif not self._admins:
            reason = words.NO_ADMINS
        elif not is_admin(user_id, self._admins, self._directory):
            reason = words.NOT_ADMIN
        elif self._guest(user_id, our_team):
            reason = messages.FOREIGN_TEAM
        else:
            return None
        self._config.refused(user_id=user_id, action=action)
        return reason

    def _guest(self, user_id: str, our_team: str | None) -> bool:
        """A Slack Connect guest: slash commands do not carry the person's home workspace, their profile does."""
        user = self._directory.user(user_id)
        team = user.team_id if user is not None else None
        return bool(team and our_team and team != our_team)

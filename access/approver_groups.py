"""The Directory of approver groups: whoever a resource-owner tag or an integration owner names as a group, as Slack
user ids, whatever keeps the group: Slack user groups (through the GroupDirectory port), Okta groups (through a
GroupSource port, its members matched to Slack users by email), and later others, one adapter each.

An answer says why it has nobody when it has nobody: the group is unknown, or its source could not be asked (no
connection, an outage, a refused credential, a rate limit). Approver resolution (access.policy) then falls back to
the integration owners, as for a missing tag, and never treats an error as a member list.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from access.config import IntegrationSpec
from access.errors import AccessError, GatewayError
from access.ports import GroupDirectory, GroupSource

log = logging.getLogger(__name__)
SLACK_USERGROUP, OKTA_GROUP = "slack_usergroup", "okta_group"


class GroupState(StrEnum):
    FOUND = "found"  # members may still be none (an empty group)
    UNKNOWN = "unknown"  # no group of that name
    UNREACHABLE = "unreachable"  # its source could not say


@dataclass(frozen=True, kw_only=True)
class GroupAnswer:
    state: GroupState
    members: frozenset[str] = frozenset()  # Slack user ids
    problem: str | None = None  # UNREACHABLE: why, in words safe to show

    @property
    def found(self) -> bool:
        return self.state is GroupState.FOUND


class ApproverGroups:
    def __init__(self, *, people: GroupDirectory, okta: GroupSource | None = None) -> None:
        self._people = people
        self._okta = okta

    def members(self, *, kind: str, name: str, integration: IntegrationSpec) -> GroupAnswer:
        """The Slack users of the group `name` of `kind` (`slack_usergroup` or `okta_group`), for `integration`."""
        if kind == OKTA_GROUP:
            return self._okta_members(name, integration)
        found = self._people.group_members(name)
        return GroupAnswer(state=GroupState.UNKNOWN) if found is None else GroupAnswer(state=GroupState.FOUND,
                                                                                       members=found)

    def _okta_members(self, name: str, integration: IntegrationSpec) -> GroupAnswer:
        if integration.okta is None or self._okta is None:
            return GroupAnswer(state=GroupState.UNREACHABLE, problem=f"integration {integration.name} has no Okta "
                                                                     "connection")
        try:
            emails = self._okta.member_emails(connection=integration.okta, group=name)
        except (GatewayError, AccessError) as error:
            log.warning("Okta group of integration %s could not be read: %s", integration.name, error)
            return GroupAnswer(state=GroupState.UNREACHABLE, problem=_problem(error))
        if emails is None:
            return GroupAnswer(state=GroupState.UNKNOWN)
        matched = self._people.user_ids_for_emails(emails) if emails else {}
        return GroupAnswer(state=GroupState.FOUND, members=frozenset(matched.values()))


def _problem(error: Exception) -> str:
    status = getattr(error, "status", None)
    if status in (401, 403):
        return "Okta refused the credentials"
    if status == 429:
        return "Okta is rate-limiting us"
    if isinstance(error, AccessError):
        return str(error)
    return "Okta could not be reached"

"""FakeOkta: an identity provider's groups as the `GroupSource` port answers about them (checked against
`okta.groups.OktaGroups` over the Okta sandbox by tests/contracts).

Groups are found by their exact name; their members' emails come back as written, deprovisioned and suspended
people left out. A token it does not know is a GatewayUnauthorized 401, `trouble` makes every question a
GatewayUnreachable and `rate_limited` a GatewayRateLimited, as the real adapter's failures are. Changes show at once,
as the real one with a cache time of zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from access.connections import OktaApiToken, OktaConnection
from access.errors import GatewayRateLimited, GatewayUnauthorized, GatewayUnreachable

GONE = ("DEPROVISIONED", "SUSPENDED")


@dataclass
class FakeOkta:
    tokens: set[str] = field(default_factory=set)
    trouble: bool = False
    rate_limited: bool = False
    questions: int = 0
    _groups: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> email -> status

    def add_group(self, name: str, emails: Sequence[str] = ()) -> FakeOkta:
        self._groups[name] = dict.fromkeys(emails, "ACTIVE")
        return self

    def add_member(self, group: str, email: str, *, status: str = "ACTIVE") -> None:
        self._groups[group][email] = status

    def remove_member(self, group: str, email: str) -> None:
        del self._groups[group][email]

    def member_emails(self, *, connection: OktaConnection, group: str) -> frozenset[str] | None:
        self.questions += 1
        self._authorize(connection)
        members = self._groups.get(group)
        if members is None:
            return None
        return frozenset(email for email, status in members.items() if status not in GONE)

    def check_groups(self, *, connection: OktaConnection, groups: Sequence[str]) -> dict[str, int | None]:
        self._authorize(connection)
        return {name: (len(found) if (found := self.member_emails(connection=connection, group=name)) is not None
                       else None) for name in dict.fromkeys(groups)}

    def _authorize(self, connection: OktaConnection) -> None:
        if self.trouble:
            raise GatewayUnreachable("Okta did not answer (ConnectError)", operation="listGroups")
        if self.rate_limited:
            raise GatewayRateLimited("Okta answered 429 (E0000047)", operation="listGroups", retry_after=30)
        creds = connection.credentials
        token = creds.token.get_secret_value() if isinstance(creds, OktaApiToken) and creds.token else None
        if token not in self.tokens:
            raise GatewayUnauthorized("Okta answered 401 (E0000011): Invalid token provided",
                                      operation="listGroups", status=401)

"""Okta groups as a source of approvers (`access.ports.GroupSource`): a group found by its exact name
(`GET /api/v1/groups?search=profile.name eq "…"`), its members read page by page (`GET /api/v1/groups/{id}/users`,
`Link` paging), and each member's `profile.email` handed to the domain, which matches them to Slack users.

Answers are kept for at most a minute (`MAX_TTL_SECONDS`), as the Slack directory's are: approvers are resolved
again at every click, and that minute bounds how long someone removed from the group can still decide. Failures
are not kept; after a 429 the connection is not called again before Okta's `X-Rate-Limit-Reset`.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx

from access.connections import OktaApiToken, OktaConnection, literal_okta
from access.ports import Clock, GroupSource
from okta.client import OktaClient

MAX_TTL_SECONDS = 60.0
GONE = frozenset({"DEPROVISIONED", "SUSPENDED"})  # members who may not act for anyone


class OktaGroups:
    def __init__(self, *, clock: Clock, transport: Callable[[], httpx.BaseTransport | None] = lambda: None,
                 ttl_seconds: float = MAX_TTL_SECONDS, env: Mapping[str, str] | None = None) -> None:
        if not 0 <= ttl_seconds <= MAX_TTL_SECONDS:
            raise ValueError(f"Okta answers are kept 0 to {MAX_TTL_SECONDS:g} seconds")
        self._clock, self._transport = clock, transport
        self._ttl = timedelta(seconds=ttl_seconds)
        self._env = env if env is not None else os.environ
        self._lock = threading.Lock()
        self._clients: dict[str, OktaClient] = {}  # by connection digest: keeps tokens and rate-limit cool-downs
        self._cache: dict[tuple[str, str], tuple[datetime, frozenset[str] | None]] = {}

    def __repr__(self) -> str:
        return f"OktaGroups(ttl={self._ttl.total_seconds():g}s)"

    # --- GroupSource --------------------------------------------------------------------------------------------

    def member_emails(self, *, connection: OktaConnection, group: str) -> frozenset[str] | None:
        client, digest = self._client(connection)
        now = self._clock.now()
        with self._lock:
            kept = self._cache.get((digest, group))
        if kept is not None and now - kept[0] < self._ttl:
            return kept[1]
        found = self._members(client, group)
        with self._lock:
            self._cache[(digest, group)] = (now, found)
        return found

    def check_groups(self, *, connection: OktaConnection, groups: Sequence[str]) -> dict[str, int | None]:
        client, _ = self._client(connection)
        if not groups:
            client.get("listGroups", "/api/v1/groups", [("limit", "1")])
        return {name: (len(members) if (members := self._members(client, name)) is not None else None)
                for name in dict.fromkeys(groups)}

    # --- Okta ---------------------------------------------------------------------------------------------------

    def _members(self, client: OktaClient, group: str) -> frozenset[str] | None:
        group_id = self._group_id(client, group)
        if group_id is None:
            return None
        emails = set()
        for user in client.paginate("listGroupUsers", f"/api/v1/groups/{group_id}/users", [("limit", "200")]):
            if user.get("status") in GONE:
                continue
            profile: dict[str, Any] = user.get("profile") or {}
            email = profile.get("email") or (profile.get("login") if "@" in str(profile.get("login", "")) else None)
            if email:
                emails.add(str(email))
        return frozenset(emails)

    def _group_id(self, client: OktaClient, group: str) -> str | None:
        quoted = group.replace("\\", "\\\\").replace('"', '\\"')  # Okta's filter: backslash escapes
        found, _ = client.get("listGroups", "/api/v1/groups", [("search", f'profile.name eq "{quoted}"'),
                                                               ("limit", "10")])
        for item in found if isinstance(found, list) else []:
            if isinstance(item, dict) and (item.get("profile") or {}).get("name") == group:
                return str(item["id"])
        return None

    def _client(self, connection: OktaConnection) -> tuple[OktaClient, str]:
        literal = literal_okta(connection, env=self._env)
        creds = literal.credentials
        secret = creds.token if isinstance(creds, OktaApiToken) else creds.private_key
        assert secret is not None
        digest = hashlib.sha256("\x1f".join((literal.base_url, creds.type, getattr(creds, "client_id", "") or "",
                                             secret.get_secret_value())).encode()).hexdigest()
        with self._lock:
            client = self._clients.get(digest)
            if client is None:
                client = self._clients[digest] = OktaClient(connection=literal, clock=self._clock,
                                                            transport=self._transport())
        return client, digest


if TYPE_CHECKING:

    def _implements_the_port(adapter: OktaGroups) -> GroupSource:
        return adapter  # mypy proves it satisfies access.ports.GroupSource

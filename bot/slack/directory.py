"""Slack's users and user groups as the domain's GroupDirectory, cached with a time to live.

Approver resolution asks the same questions many times a minute (who is in @payments-oncall, what is this
user's email); Slack's directory methods are tier 2-3, so answers are cached: the user groups with their
members (one usergroups.list), email -> user id, and user id -> email and home workspace. Approvers are
resolved again at every decision click, so the cache is what bounds how long someone removed from an owner
group can still decide: at most `MAX_TTL_SECONDS` (a minute). Errors become "unknown" (None), are not cached,
and are logged by method and Slack error code only, never with the token.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from access.ports import Clock
from bot.clock import SystemClock

log = logging.getLogger(__name__)

# Answers that mean "there is no such user", as opposed to Slack being unreachable: worth remembering.
_DEFINITE_MISSES = frozenset({"users_not_found", "user_not_found", "account_inactive"})
_MISS = object()
MAX_TTL_SECONDS = 60.0  # a change to an owner group counts at decisions within this long
BULK_AT = 20  # more emails than this at once are matched through one users.list walk, not a look-up each
PAGE = 200  # users.list page size, as Slack advises


@dataclass(frozen=True, kw_only=True)
class UserGroup:
    id: str
    handle: str
    members: frozenset[str]


@dataclass(frozen=True, kw_only=True)
class SlackUser:
    id: str
    email: str | None
    team_id: str | None  # the person's home workspace: another one means a Slack Connect guest


class _TtlCache:
    """A small thread-safe map whose entries expire `ttl` after they were stored."""

    def __init__(self, *, ttl: timedelta, clock: Clock) -> None:
        self._ttl, self._clock = ttl, clock
        self._items: dict[str, tuple[datetime, object]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> object:
        with self._lock:
            found = self._items.get(key)
        if found is None or self._clock.now() - found[0] >= self._ttl:
            return _MISS
        return found[1]

    def put(self, key: str, value: object) -> None:
        with self._lock:
            self._items[key] = (self._clock.now(), value)


class SlackDirectory:
    """`GroupDirectory` over the Web API: usergroups.list, users.lookupByEmail and users.info."""

    def __init__(self, client: WebClient, ttl_seconds: float = MAX_TTL_SECONDS, clock: Clock | None = None) -> None:
        if not 0 <= ttl_seconds <= MAX_TTL_SECONDS:
            raise ValueError(f"the directory's cache keeps answers 0 to {MAX_TTL_SECONDS:g} seconds")
        self._client = client
        self._clock = clock or SystemClock()
        self._ttl = timedelta(seconds=ttl_seconds)
        self._cache = _TtlCache(ttl=self._ttl, clock=self._clock)
        self._groups_lock = threading.Lock()  # one usergroups.list at a time; the others wait for its answer

    def __repr__(self) -> str:
        return f"SlackDirectory(ttl={self._ttl.total_seconds():g}s)"

    # --- GroupDirectory ---------------------------------------------------------------------------------

    def group_members(self, handle_or_id: str) -> frozenset[str] | None:
        group = self.group(handle_or_id)
        return group.members if group is not None else None

    def user_id_for_email(self, email: str) -> str | None:
        key = "email:" + email.strip().lower()
        return self._cached(key, lambda: self._lookup_by_email(email.strip()))

    def email_for_user(self, user_id: str) -> str | None:
        user = self.user(user_id)
        return user.email if user is not None else None

    def user_ids_for_emails(self, emails: Collection[str]) -> dict[str, str]:
        """Slack user ids by (lower-case) email, for the emails Slack knows. Many at once (an Okta group's members)
        are matched through the workspace's users.list, one paged walk cached like every answer here; a few, by
        users.lookupByEmail each."""
        wanted = {email.strip().lower() for email in emails if email.strip()}
        if len(wanted) <= BULK_AT:
            return {email: user_id for email in sorted(wanted) if (user_id := self.user_id_for_email(email))}
        index = self._email_index()
        return {email: index[email] for email in wanted if email in index}

    # --- beyond the Protocol: what messages need --------------------------------------------------------

    def group(self, handle_or_id: str) -> UserGroup | None:
        """A user group by handle (with or without @) or by id (S…); None if Slack does not know it."""
        key = handle_or_id.strip().removeprefix("@")
        groups = self._groups()
        return groups.get(key) or groups.get(key.lower())

    def user(self, user_id: str) -> SlackUser | None:
        """The person's profile email and home workspace (users.info); None if unknown or deactivated."""
        value = self._cache.get("user:" + user_id)
        if value is _MISS:
            value = self._user_of(user_id)
            if value is _MISS:
                return None  # Slack trouble: "unknown" now, ask again next time
            self._cache.put("user:" + user_id, value)
        return value if isinstance(value, SlackUser) else None

    def group_id(self, handle: str) -> str | None:
        group = self.group(handle)
        return group.id if group is not None else None

    # --- Slack calls ------------------------------------------------------------------------------------

    def _email_index(self) -> dict[str, str]:
        cached = self._cache.get("email-index")
        if cached is not _MISS:
            return cached  # type: ignore[return-value]
        index: dict[str, str] = {}
        cursor = ""
        while True:
            answer = self._call("users.list", functools.partial(self._client.users_list, limit=PAGE,
                                                                cursor=cursor or None))
            if not isinstance(answer, dict):
                return {}  # not cached: the next question asks Slack again
            for user in answer.get("members") or []:
                email = (user.get("profile") or {}).get("email")
                if email and not user.get("deleted") and not user.get("is_bot"):
                    index.setdefault(str(email).lower(), str(user["id"]))
            cursor = str((answer.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                break
        self._cache.put("email-index", index)
        return index

    def _groups(self) -> dict[str, UserGroup]:
        cached = self._cache.get("usergroups")
        if cached is not _MISS:
            return cached  # type: ignore[return-value]
        with self._groups_lock:
            cached = self._cache.get("usergroups")
            if cached is not _MISS:
                return cached  # type: ignore[return-value]
            groups = self._fetch_groups()
            if groups is None:
                return {}  # not cached: the next question asks Slack again
            self._cache.put("usergroups", groups)
            return groups

    def _fetch_groups(self) -> dict[str, UserGroup] | None:
        answer = self._call("usergroups.list", lambda: self._client.usergroups_list(include_users=True))
        if not isinstance(answer, dict):
            return None
        groups: dict[str, UserGroup] = {}
        for raw in answer.get("usergroups") or []:
            if raw.get("date_delete"):
                continue  # a disabled group approves nothing
            group = UserGroup(id=raw["id"], handle=raw.get("handle", ""), members=frozenset(raw.get("users") or ()))
            groups[group.id] = group
            if group.handle:
                groups[group.handle] = group
                groups.setdefault(group.handle.lower(), group)
        return groups

    def _lookup_by_email(self, email: str) -> object:
        answer = self._call("users.lookupByEmail", lambda: self._client.users_lookupByEmail(email=email))
        if isinstance(answer, dict):
            user = answer.get("user") or {}
            return None if user.get("deleted") else user.get("id")
        return answer

    def _user_of(self, user_id: str) -> object:
        answer = self._call("users.info", lambda: self._client.users_info(user=user_id))
        if not isinstance(answer, dict):
            return answer
        user = answer.get("user") or {}
        if user.get("deleted") or user.get("is_bot"):
            return None
        email = (user.get("profile") or {}).get("email") or None
        return SlackUser(id=user_id, email=email, team_id=user.get("team_id"))

    def _cached(self, key: str, fetch: Callable[[], object]) -> str | None:
        value = self._cache.get(key)
        if value is _MISS:
            value = fetch()
            if value is _MISS:
                return None  # Slack trouble: answer "unknown" now, ask again next time
            self._cache.put(key, value)
        return value if isinstance(value, str) else None

    def _call(self, method: str, call: Callable[[], Any]) -> Any:
        """The response data; None for a definite "no such user"; _MISS when Slack failed otherwise."""
        try:
            return dict(call().data)
        except SlackApiError as error:
            code = error.response.get("error") if error.response is not None else None
            if code in _DEFINITE_MISSES:
                return None
            log.warning("Slack %s failed: %s", method, code or "no error code")
            return _MISS
        except Exception as error:  # connection trouble: the type is enough, the message may carry a URL
            log.warning("Slack %s failed: %s", method, type(error).__name__)
            return _MISS

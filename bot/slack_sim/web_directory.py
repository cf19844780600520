"""The fake's directory: seeding users, user groups and channels, and auth.test, users.* and usergroups.*."""

from __future__ import annotations

import copy
from typing import Any

from bot.slack_sim.records import SlackError
from bot.slack_sim.web_chat import Method
from bot.slack_sim.workspace import Workspace


def seed_user(
    ws: Workspace, *, user_id: str, name: str, email: str | None, team_id: str, is_bot: bool, real_name: str | None
) -> dict[str, Any]:
    profile: dict[str, Any] = {"real_name": real_name or name, "display_name": name}
    if email and not is_bot:  # Slack shows no email for bot users
        profile["email"] = email
    user = {
        "id": user_id, "team_id": team_id, "name": name, "real_name": real_name or name, "deleted": False,
        "is_bot": is_bot, "is_app_user": False, "tz": "Etc/UTC", "profile": profile,
    }  # fmt: skip
    ws.users[user_id] = user
    return user


def seed_usergroup(
    ws: Workspace, *, usergroup_id: str, handle: str, members: list[str], name: str | None, team_id: str
) -> dict[str, Any]:
    group = {
        "id": usergroup_id, "team_id": team_id, "is_usergroup": True, "name": name or handle, "handle": handle,
        "description": "", "date_delete": 0, "users": list(members), "user_count": len(members),
    }  # fmt: skip
    ws.usergroups[usergroup_id] = group
    return group


def seed_channel(ws: Workspace, *, channel_id: str, name: str, is_private: bool) -> dict[str, Any]:
    channel = {"id": channel_id, "name": name, "is_channel": not is_private, "is_private": is_private}
    ws.channels[channel_id] = channel
    return channel


def auth_test(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    return {
        "ok": True, "url": "https://sim.slack.com/", "team": "Simulated Workspace", "user": "atlas-access",
        "team_id": ws.team_id, "user_id": ws.bot_user_id, "bot_id": ws.bot_id, "is_enterprise_install": False,
    }  # fmt: skip


def users_info(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    return {"ok": True, "user": copy.deepcopy(ws.user(args.get("user")))}


def users_lookup_by_email(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    email = str(args.get("email") or "").lower()
    for user in ws.users.values():
        if str(user["profile"].get("email", "")).lower() == email and email:
            return {"ok": True, "user": copy.deepcopy(user)}
    raise SlackError("users_not_found")  # Slack's own (plural) error for this method


def users_list(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    """Every user, `limit` a page (Slack: at most 1000, 200 advised) with `response_metadata.next_cursor`."""
    try:
        limit = int(args.get("limit") or 0) or 1000
        start = int(str(args.get("cursor") or "0").removeprefix("u:"))
    except ValueError:
        raise SlackError("invalid_cursor") from None
    if not 1 <= limit <= 1000:
        raise SlackError("invalid_limit")
    users = list(ws.users.values())
    page = [copy.deepcopy(user) for user in users[start:start + limit]]
    following = f"u:{start + limit}" if start + limit < len(users) else ""
    return {"ok": True, "members": page, "cache_ts": int(ws.now().timestamp()),
            "response_metadata": {"next_cursor": following}}


def _flag(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true")


def usergroups_list(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    include_users = _flag(args.get("include_users"))
    groups = []
    for group in ws.usergroups.values():
        shown = copy.deepcopy(group)
        if not include_users:
            del shown["users"]
        groups.append(shown)
    return {"ok": True, "usergroups": groups}


def usergroups_users_list(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    group = ws.usergroups.get(str(args.get("usergroup")))
    if group is None:
        raise SlackError("no_such_subteam")
    return {"ok": True, "users": list(group["users"])}


METHODS: dict[str, Method] = {
    "auth.test": auth_test,
    "users.info": users_info,
    "users.lookupByEmail": users_lookup_by_email,
    "users.list": users_list,
    "usergroups.list": usergroups_list,
    "usergroups.users.list": usergroups_users_list,
}

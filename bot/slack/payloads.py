"""Slack payloads parsed into typed commands: the request form, the deny reason, who clicked and from where."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from access.config import parse_duration
from bot.slack import messages as words
from bot.slack import views as v


class InputErrors(Exception):
    """Input a modal can point at before the domain sees it: {block_id: message}."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True, kw_only=True)
class RequestSubmission:
    integration: str
    resource_id: str
    roles: tuple[str, ...]
    duration: timedelta
    custom_duration: bool  # the duration came from the free-text field (errors point there)
    justification: str
    emergency: bool = False  # "This is an emergency" was ticked: only a break-glass flow may take it
    emergency_shown: bool = False  # the modal shows that box (its errors can point there)


def _values(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return ((view.get("state") or {}).get("values")) or {}


def _input(values: dict[str, dict[str, Any]], block_id: str) -> dict[str, Any] | None:
    return (values.get(block_id) or {}).get(block_id)


def _chosen_resource(view: dict[str, Any], values: dict[str, dict[str, Any]]) -> tuple[str, str] | None:
    """The picked resource: the select's value, else the ids the form was built for."""
    option = (_input(values, v.RESOURCE) or {}).get("selected_option") or {}
    parsed = v.parse_resource_value(str(option.get("value") or ""))
    if parsed:
        return parsed
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return None
    if isinstance(meta, dict) and meta.get("integration") and meta.get("resource_id"):
        return str(meta["integration"]), str(meta["resource_id"])
    return None


def request_submission(view: dict[str, Any]) -> RequestSubmission:
    """The request modal's answers; InputErrors for what can be told without the domain."""
    values = _values(view)
    resource = _chosen_resource(view, values)
    if resource is None or v.ROLES not in values:
        raise InputErrors({v.RESOURCE: words.NO_RESOURCE})
    roles = tuple(str(o.get("value")) for o in (_input(values, v.ROLES) or {}).get("selected_options") or [])
    duration, custom = _duration(values)
    justification = str((_input(values, v.JUSTIFICATION) or {}).get("value") or "")
    return RequestSubmission(integration=resource[0], resource_id=resource[1], roles=roles, duration=duration,
                             custom_duration=custom, justification=justification, emergency=_emergency(values),
                             emergency_shown=any(isinstance(block, dict) and block.get("block_id") == v.EMERGENCY
                                                 for block in view.get("blocks") or ()))


def _emergency(values: dict[str, dict[str, Any]]) -> bool:
    """Whether the box is ticked; anything else (left out, unticked, malformed) is an ordinary request."""
    block = values.get(v.EMERGENCY)
    box = block.get(v.EMERGENCY) if isinstance(block, dict) else None
    ticked = box.get("selected_options") if isinstance(box, dict) else None
    return isinstance(ticked, list) and any(isinstance(o, dict) and o.get("value") == v.EMERGENCY for o in ticked)


def emergency_asked(view: dict[str, Any]) -> bool:
    """Whether the modal was opened as `/atlas-access emergency` (its private metadata says so)."""
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return False
    return isinstance(meta, dict) and meta.get("emergency") is True


def _duration(values: dict[str, dict[str, Any]]) -> tuple[timedelta, bool]:
    typed = str((_input(values, v.CUSTOM) or {}).get("value") or "").strip()
    if typed:
        try:
            return parse_duration(typed), True
        except ValueError:
            raise InputErrors({v.CUSTOM: f"“{typed[:20]}” is not a duration like 30m, 3h, 1d or 1h30m."}) from None
    picked = ((_input(values, v.DURATION) or {}).get("selected_option") or {}).get("value")
    if not picked:
        raise InputErrors({v.DURATION: "Pick how long you need the access."})
    try:
        return parse_duration(str(picked)), False
    except ValueError:
        raise InputErrors({v.DURATION: "Pick how long you need the access."}) from None


def field_errors_to_blocks(errors: dict[str, str], submission: RequestSubmission) -> dict[str, str]:
    """The domain's FieldErrors keyed by the modal's block ids (anything unknown lands on the resource)."""
    placed: dict[str, str] = {}
    for field, message in errors.items():
        if field == "duration":
            block = v.CUSTOM if submission.custom_duration else v.DURATION
        elif field in (v.ROLES, v.JUSTIFICATION):
            block = field
        elif field == v.EMERGENCY and submission.emergency_shown:
            block = v.EMERGENCY
        else:
            block = v.RESOURCE
        placed[block] = f"{placed[block]} {message}" if block in placed else message
    return placed


def deny_reason(view: dict[str, Any]) -> tuple[int, str]:
    """(request id, reason) from the deny modal; InputErrors when the reason says nothing."""
    reason = " ".join(str((_input(_values(view), v.REASON) or {}).get("value") or "").split())
    if len(reason) < 3:
        raise InputErrors({v.REASON: "Say why, so the requester knows what to change."})
    try:
        return int(view.get("private_metadata") or ""), reason
    except ValueError:
        raise InputErrors({v.REASON: "This form has lost track of its request; please click Deny again."}) from None


def request_id_of(body: dict[str, Any]) -> int | None:
    """The request id a button carries (its value is the id and nothing else)."""
    actions = body.get("actions") or [{}]
    try:
        return int(actions[0].get("value") or "")
    except ValueError:
        return None


def clicked_in(body: dict[str, Any]) -> str | None:
    """The conversation a click or command came from, for an ephemeral answer there."""
    channel = body.get("channel")
    if isinstance(channel, dict) and channel.get("id"):
        return str(channel["id"])
    container = body.get("container") or {}
    return container.get("channel_id") or body.get("channel_id")


def user_of(body: dict[str, Any]) -> str:
    user = body.get("user")
    return str(user.get("id") if isinstance(user, dict) else body.get("user_id"))


def is_foreign(body: dict[str, Any], our_team: str | None) -> bool:
    """Whether the request comes from, or the person belongs to, another workspace (Slack Connect)."""
    if not our_team:
        return True  # we cannot tell: refuse rather than trust
    user = body["user"] if isinstance(body.get("user"), dict) else {}
    team = body["team"] if isinstance(body.get("team"), dict) else {}
    seen = {user.get("team_id"), team.get("id"), body.get("team_id"), body.get("user_team_id")} - {None, ""}
    return any(team_id != our_team for team_id in seen)

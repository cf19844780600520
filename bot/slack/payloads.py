"""Slack payloads parsed into typed commands: the request form, the deny reason, who clicked and from where."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from access.config import parse_duration
from access.text import MAX_DURATION_TEXT, MAX_JUSTIFICATION, MAX_REASON, clean, one_line
from bot.slack import messages as words
from bot.slack import views as v

MAX_ID = 2**31 - 1  # ids are 32-bit integers in PostgreSQL: anything larger names nothing we stored


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
    network: str | None = None  # the IP address or CIDR block typed, when the modal asks for one
    on_behalf: str | None = None  # "For": the Slack user the access is asked for (admins and delegates)
    start: datetime | None = None  # "Start later": when the access starts (None: once approved)
    # Several resources in one request: the others, each (integration, resource id, roles), in the modal's order
    more: tuple[tuple[str, str, tuple[str, ...]], ...] = ()


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def view_values(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A submitted view's `state.values` ({block_id: {action_id: element}}), or {}."""
    return _dict(_dict(view.get("state")).get("values"))


def _input(values: dict[str, dict[str, Any]], block_id: str) -> dict[str, Any]:
    """The element of an input block whose action id is its block id (each of our inputs is built so)."""
    return _dict(_dict(values.get(block_id)).get(block_id))


def typed(values: dict[str, dict[str, Any]], block_id: str) -> str:
    """What was typed in a text input; a value Slack would never send (not a string) counts as nothing."""
    value = _input(values, block_id).get("value")
    return clean(value) if isinstance(value, str) else ""


def picked(values: dict[str, dict[str, Any]], block_id: str) -> str:
    """The value of a select's chosen option, or ""."""
    value = _dict(_input(values, block_id).get("selected_option")).get("value")
    return value if isinstance(value, str) else ""


def picked_many(values: dict[str, dict[str, Any]], block_id: str) -> tuple[str, ...]:
    """The values of a multi-select's chosen options (at most Slack's 100), strings only."""
    options = _input(values, block_id).get("selected_options")
    chosen = (_dict(o).get("value") for o in (options if isinstance(options, list) else [])[:100])
    return tuple(value for value in chosen if isinstance(value, str))


def parse_id(value: object) -> int | None:
    """A stored row's id from a button value or a view's metadata; None for anything else."""
    if not isinstance(value, str) or not value.isascii() or not value.isdigit() or len(value) > 10:
        return None
    number = int(value)
    return number if 0 < number <= MAX_ID else None


def _chosen_resource(view: dict[str, Any], values: dict[str, dict[str, Any]]) -> tuple[str, str] | None:
    """The picked resource: the select's value, else the ids the form was built for."""
    parsed = v.parse_resource_value(picked(values, v.RESOURCE))
    if parsed:
        return parsed
    return meta_resource(view)


def meta_resource(view: dict[str, Any]) -> tuple[str, str] | None:
    """The (integration, resource id) the request form was built for, from its private metadata."""
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except (ValueError, RecursionError):
        return None
    if isinstance(meta, dict) and isinstance(meta.get("integration"), str) and isinstance(meta.get("resource_id"), str):
        return (meta["integration"], meta["resource_id"]) if meta["integration"] and meta["resource_id"] else None
    return None


def request_submission(view: dict[str, Any]) -> RequestSubmission:
    """The request modal's answers; InputErrors for what can be told without the domain."""
    values = view_values(view)
    resource = _chosen_resource(view, values)
    if resource is None or v.ROLES not in values:
        raise InputErrors({v.RESOURCE: words.NO_RESOURCE})
    roles = picked_many(values, v.ROLES)
    duration, custom = _duration(values)
    justification = typed(values, v.JUSTIFICATION)
    if len(justification) > MAX_JUSTIFICATION:  # the modal's max_length, checked again: a crafted payload need not
        raise InputErrors({v.JUSTIFICATION: f"Keep it to {MAX_JUSTIFICATION} characters: a ticket link says more."})
    network = one_line(typed(values, v.NETWORK))[:64] if v.NETWORK in values else None
    picked_user = _input(values, v.ON_BEHALF).get("selected_user")
    on_behalf = picked_user if isinstance(picked_user, str) and picked_user.isalnum() and len(picked_user) <= 32 \
        else None
    moment = _input(values, v.START).get("selected_date_time")
    start = datetime.fromtimestamp(moment, tz=UTC) if isinstance(moment, int) and 0 < moment < 2**33 else None
    more = more_items(view, values)
    return RequestSubmission(integration=resource[0], resource_id=resource[1], roles=roles, duration=duration,
                             more=more,
                             custom_duration=custom, justification=justification, emergency=_emergency(values),
                             on_behalf=on_behalf, start=start,
                             emergency_shown=any(isinstance(block, dict) and block.get("block_id") == v.EMERGENCY
                                                 for block in view.get("blocks") or ()), network=network)


MAX_META_ITEMS = 20  # what private metadata may list: the server's limit (access.config.MAX_ITEMS) is checked later
STILL_UPDATING = "The form was still updating: wait until each resource shows its roles, then submit again."


def meta_items(view: dict[str, Any]) -> list[tuple[str, str]]:
    """The other resources the modal was last built with (its private metadata's `items`), or []."""
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except (ValueError, RecursionError):
        return []
    listed = meta.get("items") if isinstance(meta, dict) else None
    if not isinstance(listed, list):
        return []
    return [(str(i[0]), str(i[1])) for i in listed[:MAX_META_ITEMS]
            if isinstance(i, list) and len(i) == 2 and all(isinstance(x, str) and x for x in i)]


def more_items(view: dict[str, Any], values: dict[str, dict[str, Any]]) -> tuple[tuple[str, str, tuple[str, ...]],
                                                                                  ...]:
    """The other resources and their roles; InputErrors when "More resources" no longer matches the roles shown."""
    if v.MORE not in values:
        return ()
    chosen = [v.parse_resource_value(value) for value in picked_many(values, v.MORE)]
    built = meta_items(view)
    if any(c is None for c in chosen) or chosen != built:
        raise InputErrors({v.MORE: STILL_UPDATING})
    return tuple((integration, resource_id, picked_many(values, v.item_roles(index)))
                 for index, (integration, resource_id) in enumerate(built, start=1))


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
    custom = one_line(typed(values, v.CUSTOM))
    if custom:
        return duration_answer(custom, block=v.CUSTOM), True
    chosen = picked(values, v.DURATION)
    if not chosen:
        raise InputErrors({v.DURATION: "Pick how long you need the access."})
    return duration_answer(chosen, block=v.DURATION), False


def duration_answer(text: str, *, block: str) -> timedelta:
    """A duration typed or picked in a modal, or a field error on `block` (too long, unreadable, too large)."""
    shown = text[:MAX_DURATION_TEXT]
    if len(text) > MAX_DURATION_TEXT:
        raise InputErrors({block: f"“{shown}…” is not a duration like 30m, 3h, 1d or 1h30m."})
    try:
        return parse_duration(text)
    except ValueError as error:  # its message names the rule broken, and at most the 20 characters typed
        message = str(error)
        raise InputErrors({block: message[:1].upper() + message[1:] + "."}) from None


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
        elif field == v.NETWORK and submission.network is not None:
            block = v.NETWORK
        elif field == v.START:
            block = v.START
        elif field == "resources" and submission.more:
            block = v.MORE
        elif field.startswith(f"{v.ROLES}@") and field.removeprefix(f"{v.ROLES}@").isdigit() \
                and 0 < int(field.removeprefix(f"{v.ROLES}@")) <= len(submission.more):
            block = field
        else:
            block = v.RESOURCE
        placed[block] = f"{placed[block]} {message}" if block in placed else message
    return placed


def deny_reason(view: dict[str, Any]) -> tuple[int, str]:
    """(request id, reason) from the deny modal; InputErrors when the reason says nothing."""
    reason = one_line(typed(view_values(view), v.REASON))
    if len(reason) < 3:
        raise InputErrors({v.REASON: "Say why, so the requester knows what to change."})
    if len(reason) > MAX_REASON:
        raise InputErrors({v.REASON: f"Keep the reason to {MAX_REASON} characters."})
    request_id = parse_id(view.get("private_metadata"))
    if request_id is None:
        raise InputErrors({v.REASON: "This form has lost track of its request; please click Deny again."})
    return request_id, reason


def request_id_of(body: dict[str, Any]) -> int | None:
    """The request id a button carries (its value is the id and nothing else)."""
    actions = body.get("actions") or [{}]
    return parse_id(_dict(actions[0]).get("value"))


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

"""The shape check of a signed Slack request, before Bolt sees it: a body Slack would never send is a 400.

Bolt trusts the shape of what it is given: `"actions": null` or a list for `"team"` raises inside its
listener matching or context building, which answers 500. A correct signature only says the bytes came
with the secret, so the shape is checked here, once, for every kind of request: the fields Bolt and our
listeners read must have the types Slack documents. Fields nobody reads are left alone.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from slack_bolt.request.internals import parse_body

MAX_BODY = 1_000_000  # Slack's largest payloads (a modal's 100 blocks and their state) are far below this

# Fields read by Bolt's context extraction or by our listeners, wherever they appear: (allowed types).
_OBJECT_OR_ID = (dict, str, type(None))
_COMMON: dict[str, tuple[type, ...]] = {
    "type": (str,), "team": _OBJECT_OR_ID, "user": _OBJECT_OR_ID, "enterprise": _OBJECT_OR_ID,
    "channel": _OBJECT_OR_ID, "view": (dict, type(None)), "message": (dict, type(None)),
    "previous_message": (dict, type(None)), "container": (dict, type(None)), "item": (dict, type(None)),
    "assistant_thread": (dict, type(None)), "authorizations": (list, type(None)), "event": (dict,),
    "actions": (list,), "team_id": (str, type(None)), "user_id": (str, type(None)), "enterprise_id": (str, type(None)),
    "channel_id": (str, type(None)), "trigger_id": (str, type(None)), "response_url": (str, type(None)),
    "response_urls": (list, type(None)), "api_app_id": (str, type(None)), "action_id": (str,), "block_id": (str,),
    "callback_id": (str,), "value": (str, type(None)), "is_enterprise_install": (bool, str, type(None)),
    "state": (dict, type(None)), "user_team_id": (str, type(None)), "context_team_id": (str, type(None)),
}
# Inside the objects above: ids and texts must be strings (they are compared, hashed and shown).
_NESTED_STRINGS = ("id", "team_id", "enterprise_id", "callback_id", "private_metadata", "hash", "app_installed_team_id",
                   "channel_id", "message_ts", "ts", "thread_ts", "user", "subtype", "tab", "type", "channel",
                   "channel_type", "bot_id", "view_id")
_NESTED = ("team", "user", "enterprise", "channel", "view", "message", "previous_message", "container", "item",
           "assistant_thread", "event")
_INTERACTIONS = {"block_actions", "view_submission", "view_closed", "block_suggestion", "shortcut", "message_action"}
_ENVELOPES = {"event_callback", "url_verification", "app_rate_limited"}


def problem(body: bytes, content_type: str | None) -> str | None:
    """What is wrong with a (signed) request body, or None when Slack could have sent it."""
    if len(body) > MAX_BODY:
        return "too large"
    try:
        text = body.decode("utf-8")
        parsed = parse_body(text, content_type.split(";")[0].strip() if content_type else None)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return "not JSON or a form"
    return parsed_problem(parsed)


def parsed_problem(parsed: object) -> str | None:
    """`problem` of a body already parsed as Bolt parses it (`BoltRequest.body`)."""
    if not isinstance(parsed, dict):
        return "not an object"
    return _payload_problem(parsed) if parsed else "empty"


def is_ssl_check(body: bytes) -> bool:
    """Slack's check of a slash command's certificate (`ssl_check=1`), which Bolt answers before verifying."""
    try:
        form = parse_qs(body.decode("utf-8"), max_num_fields=10)
    except ValueError:
        return False
    return form.get("ssl_check") == ["1"] and "payload" not in form and "command" not in form


def _payload_problem(payload: dict[str, Any]) -> str | None:
    if "command" in payload and "type" not in payload:
        return _fields_problem(payload) or (None if str(payload["command"]).startswith("/") else "bad command")
    if "ssl_check" in payload:
        return None
    kind = payload.get("type")
    if not isinstance(kind, str) or kind not in _INTERACTIONS | _ENVELOPES:
        return "unknown type"
    return _fields_problem(payload) or _kind_problem(kind, payload)


def _fields_problem(payload: dict[str, Any]) -> str | None:
    for key, allowed in _COMMON.items():
        if key in payload and not isinstance(payload[key], allowed):
            return f"bad {key}"
    for key in _NESTED:
        value = payload.get(key)
        if isinstance(value, dict):
            wrong = next((k for k in _NESTED_STRINGS if k in value and not isinstance(value[k], str | None)), None)
            if wrong is not None:
                return f"bad {key}.{wrong}"
    for authorization in payload.get("authorizations") or []:
        if not isinstance(authorization, dict) or _fields_problem(authorization):
            return "bad authorizations"
    return None


def _kind_problem(kind: str, payload: dict[str, Any]) -> str | None:
    if kind == "block_actions":
        actions = payload.get("actions")
        if not actions or not all(isinstance(a, dict) and not _fields_problem(a) for a in actions):
            return "bad actions"
    elif kind in ("view_submission", "view_closed"):
        view = payload.get("view")
        if not isinstance(view, dict) or not isinstance(view.get("callback_id"), str):
            return "bad view"
        if not _state_ok(view.get("state")):
            return "bad view state"
    elif kind == "block_suggestion":
        if not isinstance(payload.get("action_id"), str):
            return "bad action_id"
    elif kind == "event_callback":
        if not isinstance(payload.get("event"), dict) or not isinstance(payload["event"].get("type"), str):
            return "bad event"
        return _fields_problem(payload["event"])
    elif kind == "url_verification" and not isinstance(payload.get("challenge"), str):
        return "bad challenge"
    return None


def _state_ok(state: Any) -> bool:
    """A view's state is {"values": {block_id: {action_id: {...}}}}."""
    if state is None:
        return True
    if not isinstance(state, dict):
        return False
    values = state.get("values", {})
    return isinstance(values, dict) and all(
        isinstance(block, dict) and all(isinstance(element, dict) for element in block.values())
        for block in values.values())

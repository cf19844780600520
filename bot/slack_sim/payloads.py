"""Builders for the payloads Slack sends an app: interactive actions, view state values, options loads, events."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any

_SINGLE_OPTION = {"static_select", "external_select", "radio_buttons", "overflow"}
_MANY_OPTIONS = {"multi_static_select", "multi_external_select", "checkboxes"}
_PICKED = {
    "users_select": "selected_user", "multi_users_select": "selected_users",
    "conversations_select": "selected_conversation", "multi_conversations_select": "selected_conversations",
    "channels_select": "selected_channel", "multi_channels_select": "selected_channels",
    "datepicker": "selected_date", "timepicker": "selected_time", "datetimepicker": "selected_date_time",
}  # fmt: skip
_EMPTY_MULTI = {"selected_users", "selected_conversations", "selected_channels"}


def action_ts() -> str:
    return f"{time.time():.6f}"


def elements(blocks: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every interactive element of a surface with its block_id: input, actions and section accessories."""
    for block in blocks or []:
        block_id = str(block.get("block_id", ""))
        if block.get("type") == "input" and isinstance(block.get("element"), dict):
            yield block_id, block["element"]
        elif block.get("type") == "actions":
            for element in block.get("elements", []):
                yield block_id, element
        elif block.get("type") == "section" and isinstance(block.get("accessory"), dict):
            yield block_id, block["accessory"]


def find_element(blocks: Any, action_id: str) -> tuple[str, dict[str, Any]] | None:
    for block_id, element in elements(blocks):
        if element.get("action_id") == action_id:
            return block_id, element
    return None


def _options_of(element: Mapping[str, Any]) -> list[dict[str, Any]]:
    groups = element.get("option_groups") or []
    return list(element.get("options") or []) + [option for group in groups for option in group.get("options", [])]


def option_for(element: Mapping[str, Any], value: Any) -> dict[str, Any]:
    """The option a person picks: for static lists it must be one offered; external ones are free-form."""
    if isinstance(value, Mapping):
        return dict(value)
    offered = _options_of(element)
    if element.get("type") in ("external_select", "multi_external_select") and not offered:
        return {"text": {"type": "plain_text", "text": str(value)[:75]}, "value": str(value)}
    for option in offered:
        if option.get("value") == value:
            return dict(option)
    raise ValueError(f"{value!r} is not an option of {element.get('action_id')!r}")


def picked(element: Mapping[str, Any], value: Any) -> dict[str, Any]:
    """The part of an action or a state value that says what was chosen, shaped by the element type."""
    kind = str(element.get("type", "button"))
    if kind in _SINGLE_OPTION:
        return {"selected_option": None if value is None else option_for(element, value)}
    if kind in _MANY_OPTIONS:
        values = [] if value is None else list(value)
        return {"selected_options": [option_for(element, item) for item in values]}
    if kind in _PICKED:
        field = _PICKED[kind]
        return {field: ([] if field in _EMPTY_MULTI else None) if value is None else value}
    return {"value": value}


def action_entry(*, action_id: str, block_id: str, value: Any, element: Mapping[str, Any] | None) -> dict[str, Any]:
    element = element or {"type": "button", "action_id": action_id}
    entry: dict[str, Any] = {
        "action_id": action_id, "block_id": block_id, "type": element.get("type", "button"), "action_ts": action_ts(),
    }  # fmt: skip
    if entry["type"] == "button":
        entry["text"] = element.get("text", {"type": "plain_text", "text": action_id})
        entry["value"] = value
    else:
        entry.update(picked(element, value))
    return entry


def initial_value(element: Mapping[str, Any]) -> Any:
    """What an untouched element holds: its initial_* field (initial_value, initial_option, initial_user, ...)."""
    for key, held in element.items():
        if key.startswith("initial_"):
            return held
    return None


def state_values_for(view: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """`view.state.values` as Slack sends it on submit: every input element, filled from `{action_id: value}`.

    A value may be the raw value (text, option value, user id, list for multi-selects) or the full Slack shape;
    an element left out keeps its initial value, as it would on screen.
    """
    state: dict[str, dict[str, dict[str, Any]]] = {}
    unused = set(values)
    for block in view.get("blocks") or []:
        element = block.get("element") if block.get("type") == "input" else None
        if not isinstance(element, dict):
            continue
        action_id = str(element.get("action_id", ""))
        value = values[action_id] if action_id in values else initial_value(element)
        unused.discard(action_id)
        shape = value if isinstance(value, Mapping) and "type" in value else None
        entry = dict(shape) if shape else {"type": element.get("type"), **picked(element, value)}
        state.setdefault(str(block.get("block_id", "")), {})[action_id] = entry
    missing = sorted(action_id for action_id in unused if values[action_id] is not None)
    if missing:  # a value for a field that is not on screen is a mistake in the test; None for one is harmless
        raise ValueError(f"no input element with action_id {missing} in the view")
    return state


def event_envelope(
    *, event: Mapping[str, Any], team_id: str, app_id: str, bot_user_id: str, event_id: str
) -> dict[str, Any]:
    now = int(time.time())
    return {
        "token": "sim-verification-token", "team_id": team_id, "api_app_id": app_id, "event": dict(event),
        "type": "event_callback", "event_id": event_id, "event_time": now, "event_context": f"4-{event_id}",
        "is_ext_shared_channel": False,
        "authorizations": [
            {"enterprise_id": None, "team_id": team_id, "user_id": bot_user_id, "is_bot": True,
             "is_enterprise_install": False}
        ],
    }  # fmt: skip

"""The fake's view methods: views.open, views.push, views.update and views.publish, with trigger_id rules."""

from __future__ import annotations

import copy
from typing import Any

from bot.slack_sim.blocks import view_problems
from bot.slack_sim.records import SlackError
from bot.slack_sim.web_chat import Method
from bot.slack_sim.workspace import Workspace, parse_json_arg


def _view_arg(args: dict[str, Any], *, kind: str | None = None) -> dict[str, Any]:
    view = parse_json_arg(args, "view", error="invalid_arguments")
    if view is None:
        raise SlackError("invalid_arguments", messages=["[ERROR] missing required field: view [json-pointer:/view]"])
    problems = view_problems(view)
    if not problems and kind is not None and view.get("type") != kind:
        problems = [f"[ERROR] must be {kind} [json-pointer:/view/type]"]
    if problems:
        raise SlackError("invalid_arguments", messages=problems)
    result: dict[str, Any] = view
    return result


def _stored(
    ws: Workspace, view: dict[str, Any], *, view_id: str, root_view_id: str | None, previous_view_id: str | None
) -> dict[str, Any]:
    """The view as Slack returns it: the app's fields plus id, hash, state and the stack links."""
    return {
        **copy.deepcopy(view),
        "id": view_id, "team_id": ws.team_id, "app_id": ws.app_id, "bot_id": ws.bot_id,
        "callback_id": view.get("callback_id", ""), "private_metadata": view.get("private_metadata", ""),
        "external_id": view.get("external_id", ""), "state": {"values": {}}, "hash": ws.new_ts(),
        "root_view_id": root_view_id, "previous_view_id": previous_view_id,
        "clear_on_close": bool(view.get("clear_on_close", False)),
        "notify_on_close": bool(view.get("notify_on_close", False)),
    }  # fmt: skip


def _check_external_id(ws: Workspace, view: dict[str, Any], *, except_id: str | None = None) -> None:
    external = view.get("external_id")
    if external and any(v["external_id"] == external and v["id"] != except_id for v in ws.views.values()):
        raise SlackError("duplicate_external_id")


def open_view(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    view = _view_arg(args, kind="modal")
    _check_external_id(ws, view)
    trigger = ws.use_trigger(args.get("trigger_id"))
    view_id = ws.new_id("V")
    ws.views[view_id] = _stored(ws, view, view_id=view_id, root_view_id=view_id, previous_view_id=None)
    ws.view_users[view_id] = trigger.user_id
    return {"ok": True, "view": copy.deepcopy(ws.views[view_id])}


def push_view(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    view = _view_arg(args, kind="modal")
    _check_external_id(ws, view)
    trigger = ws.use_trigger(args.get("trigger_id"))
    below = [vid for vid, user in ws.view_users.items() if user == trigger.user_id and vid in ws.views]
    previous = below[-1] if below else None
    root = ws.views[previous]["root_view_id"] if previous else None
    view_id = ws.new_id("V")
    ws.views[view_id] = _stored(ws, view, view_id=view_id, root_view_id=root or view_id, previous_view_id=previous)
    ws.view_users[view_id] = trigger.user_id
    return {"ok": True, "view": copy.deepcopy(ws.views[view_id])}


def _existing(ws: Workspace, args: dict[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]], str]:
    """The view views.update names (a modal, or a published Home tab), its table and its key there."""
    view_id, external = args.get("view_id"), args.get("external_id")
    if not view_id and not external:
        raise SlackError("invalid_arguments", messages=["[ERROR] view_id or external_id is required"])
    for key, stored in ws.views.items():
        if key == view_id or (external and stored["external_id"] == external):
            return stored, ws.views, key
    for user_id, stored in ws.homes.items():
        if stored["id"] == view_id or (external and stored["external_id"] == external):
            return stored, ws.homes, user_id
    raise SlackError("not_found")


def update_view(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    current, table, key = _existing(ws, args)
    if args.get("hash") and args["hash"] != current["hash"]:
        raise SlackError("hash_conflict")
    view = _view_arg(args, kind=current["type"])
    _check_external_id(ws, view, except_id=current["id"])
    table[key] = _stored(
        ws, view, view_id=current["id"], root_view_id=current["root_view_id"],
        previous_view_id=current["previous_view_id"],
    )  # fmt: skip
    return {"ok": True, "view": copy.deepcopy(table[key])}


def publish(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    user_id = ws.user(args.get("user_id"))["id"]
    view = _view_arg(args, kind="home")
    current = ws.homes.get(user_id)
    if current is not None and args.get("hash") and args["hash"] != current["hash"]:
        raise SlackError("hash_conflict")
    view_id = current["id"] if current is not None else ws.new_id("V")
    ws.homes[user_id] = _stored(ws, view, view_id=view_id, root_view_id=None, previous_view_id=None)
    return {"ok": True, "view": copy.deepcopy(ws.homes[user_id])}


METHODS: dict[str, Method] = {
    "views.open": open_view,
    "views.push": push_view,
    "views.update": update_view,
    "views.publish": publish,
}

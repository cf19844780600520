"""Custom database roles of a project: a unique roleName, actions on namespaces (`{db, collection}` or
`{cluster: true}`), inherited roles; at most 100 per project. A database user may only be given a built-in role or
a custom role that exists in its project."""

from __future__ import annotations

import re
from typing import Any

from atlas.sandbox.context import Ctx, Handler, Reply
from atlas.sandbox.errors import RESOURCE_NOT_FOUND, bad_request, conflict, not_found
from atlas.sandbox.handlers_db import BUILT_IN_ROLES

MAX_PER_PROJECT = 100
ROLE_LIMIT = "MAX_CUSTOM_ROLES_EXCEEDED"
DUPLICATE_ROLE = "ATLAS_CUSTOM_ROLE_ALREADY_EXISTS"
ACTIONS = frozenset({
    "FIND", "INSERT", "REMOVE", "UPDATE", "BYPASS_DOCUMENT_VALIDATION", "CREATE_COLLECTION", "CREATE_INDEX",
    "DROP_COLLECTION", "CHANGE_STREAM", "COLL_MOD", "COLL_STATS", "DB_STATS", "LIST_COLLECTIONS", "LIST_INDEXES",
    "DROP_INDEX", "RENAME_COLLECTION_SAME_DB", "VALIDATE", "DB_HASH", "LIST_DATABASES", "SERVER_STATUS", "TOP",
})  # those the sandbox takes; Atlas knows more (see the spec's DatabasePrivilegeAction)
_ROLE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
BUILT_IN = BUILT_IN_ROLES


def _roles(ctx: Ctx) -> tuple[str, dict[str, dict[str, Any]]]:
    group_id = ctx.state.project(ctx.params["groupId"]).id
    return group_id, ctx.state.custom_roles.setdefault(group_id, {})


def list_roles(ctx: Ctx) -> Reply:
    _, roles = _roles(ctx)
    return 200, list(roles.values())  # the spec answers with a plain array, not a page


def get_role(ctx: Ctx) -> Reply:
    _, roles = _roles(ctx)
    found = roles.get(ctx.params["roleName"])
    if found is None:
        raise not_found(f"No custom role named {ctx.params['roleName']} exists.", RESOURCE_NOT_FOUND)
    return 200, found


def create_role(ctx: Ctx) -> Reply:
    group_id, roles = _roles(ctx)
    name = ctx.field("roleName")
    if not _ROLE_NAME.match(name) or name in BUILT_IN:
        raise bad_request(f"Invalid custom role name {name}.")
    if name in roles:
        raise conflict(f"A custom role named {name} already exists in group {group_id}.", DUPLICATE_ROLE)
    if len(roles) >= MAX_PER_PROJECT:
        raise bad_request(f"Group {group_id} already has {MAX_PER_PROJECT} custom roles.", ROLE_LIMIT)
    actions = ctx.field("actions", list, required=False) or []
    inherited = ctx.field("inheritedRoles", list, required=False) or []
    if not actions and not inherited:
        raise bad_request("A custom role needs actions or inherited roles.")
    for item in actions:
        _check_action(item)
    roles[name] = {"roleName": name, "actions": actions, "inheritedRoles": inherited}
    return 200, roles[name]


def _check_action(item: Any) -> None:
    if not isinstance(item, dict) or item.get("action") not in ACTIONS:
        raise bad_request(f"Invalid custom role action {item!r:.80}.")
    resources = item.get("resources")
    if not isinstance(resources, list) or not resources:
        raise bad_request(f"Action {item['action']} needs resources.")
    for resource in resources:
        if not isinstance(resource, dict):
            raise bad_request("Each resource is an object.")
        if resource.get("cluster") is True:
            continue
        db, collection = resource.get("db"), resource.get("collection")
        if not isinstance(db, str) or not isinstance(collection, str) or not db:
            raise bad_request("A namespace resource needs db and collection (\"\" for every collection).")
        if db in ("local", "config") or "$" in collection or collection.startswith("system."):
            raise bad_request(f"Invalid namespace {db}.{collection} for a custom role.")


def delete_role(ctx: Ctx) -> Reply:
    _, roles = _roles(ctx)
    if roles.pop(ctx.params["roleName"], None) is None:
        raise not_found(f"No custom role named {ctx.params['roleName']} exists.", RESOURCE_NOT_FOUND)
    return 204, None


HANDLERS: dict[str, Handler] = {
    "listGroupCustomDbRoleRoles": list_roles,
    "getGroupCustomDbRoleRole": get_role,
    "createGroupCustomDbRoleRole": create_role,
    "deleteGroupCustomDbRoleRole": delete_role,
}

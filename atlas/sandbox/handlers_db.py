"""Database users, temporary ones included: deleteAfterDate within 7 days, at most 100 per project, expiry by clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from atlas.sandbox import views
from atlas.sandbox.context import Ctx, Handler, Reply
from atlas.sandbox.errors import (
    DATABASE_USER_ALREADY_EXISTS,
    DATABASE_USER_LIMIT,
    DATABASE_USER_NOT_FOUND,
    INVALID_DELETE_AFTER_DATE,
    bad_request,
    conflict,
    not_found,
)
from atlas.sandbox.records import DatabaseUser, iso
from atlas.sandbox.state import State

MAX_PER_PROJECT = 100
BUILT_IN_ROLES = frozenset({
    "read", "readWrite", "dbAdmin", "dbOwner", "enableSharding", "readAnyDatabase", "readWriteAnyDatabase",
    "dbAdminAnyDatabase", "atlasAdmin", "backup", "clusterMonitor", "killOpSession", "directShardOperations",
})
MAX_LIFETIME = timedelta(days=7)
_DATABASES = ("admin", "$external")
_SCOPE_TYPES = ("CLUSTER", "DATA_LAKE", "STREAM")
_AUTH_TYPES = ("awsIAMType", "ldapAuthType", "oidcAuthType", "x509Type")


def expire(state: State, *, now: datetime) -> int:
    """Delete the database users whose deleteAfterDate has passed (Atlas does this itself); how many went."""
    due = [key for key, when in state.db_expiring.items() if when <= now]
    for group_id, database, username in due:
        state.db_users[group_id].pop((database, username), None)
        del state.db_expiring[(group_id, database, username)]
    return len(due)


def _user(ctx: Ctx) -> DatabaseUser:
    group = ctx.state.db_users[ctx.state.project(ctx.params["groupId"]).id]
    found = group.get((ctx.params["databaseName"], ctx.params["username"]))
    if found is None:
        raise not_found(f"No user with username {ctx.params['username']} exists.", DATABASE_USER_NOT_FOUND)
    return found


def list_database_users(ctx: Ctx) -> Reply:
    group = ctx.state.db_users[ctx.state.project(ctx.params["groupId"]).id]
    return ctx.page(list(group.values()), views.database_user)


def get_database_user(ctx: Ctx) -> Reply:
    return 200, views.database_user(_user(ctx))


def create_database_user(ctx: Ctx) -> Reply:
    group_id = ctx.state.project(ctx.params["groupId"]).id
    if ctx.field("groupId") != group_id:  # the spec requires it in the body, and it must be the path's
        raise bad_request("The body's groupId does not match the path.")
    username, database = ctx.field("username"), ctx.field("databaseName")
    if database not in _DATABASES or not 1 <= len(username) <= 1024:
        raise bad_request(f"databaseName must be one of {', '.join(_DATABASES)}; username 1 to 1024 characters.")
    users = ctx.state.db_users[group_id]
    if (database, username) in users:
        raise conflict(f"The user {username} already exists in group {group_id}.", DATABASE_USER_ALREADY_EXISTS)
    if len(users) >= MAX_PER_PROJECT:
        raise bad_request(f"Group {group_id} already has {MAX_PER_PROJECT} database users.", DATABASE_USER_LIMIT)
    _require_secret(ctx, database)
    _check_external(ctx, database)
    user = DatabaseUser(group_id=group_id, database_name=database, username=username, document={})
    _apply(ctx, user, _document(ctx, group_id, username, database))
    users[(database, username)] = user
    return 201, views.database_user(user)


def update_database_user(ctx: Ctx) -> Reply:
    user = _user(ctx)
    changes = {k: v for k, v in (ctx.body or {}).items() if k in ("roles", "scopes", "labels", "description",
                                                                  "deleteAfterDate")}
    _apply(ctx, user, {**user.document, **changes})
    return 200, views.database_user(user)


def delete_database_user(ctx: Ctx) -> Reply:
    user = _user(ctx)
    del ctx.state.db_users[user.group_id][(user.database_name, user.username)]
    ctx.state.db_expiring.pop((user.group_id, user.database_name, user.username), None)
    return 204, None


def _document(ctx: Ctx, group_id: str, username: str, database: str) -> dict[str, Any]:
    document: dict[str, Any] = {"username": username, "databaseName": database, "groupId": group_id,
                                "labels": ctx.field("labels", list, required=False) or [],
                                "roles": ctx.field("roles", list), "scopes": ctx.field("scopes", list, required=False)
                                or []}
    for name in _AUTH_TYPES:
        document[name] = ctx.field(name, required=False) or "NONE"
    for name in ("description", "deleteAfterDate"):
        if ctx.field(name, required=False) is not None:
            document[name] = ctx.field(name)
    return document


def _apply(ctx: Ctx, user: DatabaseUser, document: dict[str, Any]) -> None:
    """Validate the document's roles, scopes and expiry, then store it (the password never is)."""
    _check_roles(ctx.state, user.group_id, document["roles"])
    _check_scopes(ctx, user.group_id, document["scopes"])
    key = (user.group_id, user.database_name, user.username)
    if document.get("deleteAfterDate") is not None:
        when = delete_after(str(document["deleteAfterDate"]), now=ctx.now)
        document["deleteAfterDate"] = iso(when)
        user.delete_after = when
        ctx.state.db_expiring[key] = when
    user.document = document


def _require_secret(ctx: Ctx, database: str) -> None:
    external = any((ctx.field(name, required=False) or "NONE") != "NONE" for name in _AUTH_TYPES)
    password = ctx.field("password", required=False)
    if database == "admin" and not external and (password is None or len(password) < 8):
        raise bad_request("A SCRAM database user (databaseName admin) needs a password of at least 8 characters.")


def _check_external(ctx: Ctx, database: str) -> None:
    """At most one external method; an externally authenticated user (X.509 among them) lives on `$external`
    and has no password (Atlas refuses both mistakes)."""
    methods = [name for name in _AUTH_TYPES if (ctx.field(name, required=False) or "NONE") != "NONE"]
    if len(methods) > 1:
        raise bad_request(f"A database user authenticates one way: {', '.join(methods)} are all set.")
    if methods and database != "$external":
        raise bad_request(f"A user with {methods[0]} {ctx.field(methods[0])} must be created on the $external "
                          "database.", "INVALID_AUTH_DATABASE")
    if methods and ctx.field("password", required=False) is not None:
        raise bad_request(f"A user with {methods[0]} {ctx.field(methods[0])} takes no password.")


def _check_roles(state: State, group_id: str, roles: list[Any]) -> None:
    if not roles:
        raise bad_request("A database user needs at least one role.")
    for role in roles:
        if not isinstance(role, dict) or not role.get("roleName") or not role.get("databaseName"):
            raise bad_request("Each database user role needs roleName and databaseName.")
        name = str(role["roleName"])
        if name not in BUILT_IN_ROLES and name not in state.custom_roles.get(group_id, {}):
            raise bad_request(f"No built-in or custom role named {name} exists in group {group_id}.",
                              "INVALID_ROLE_NAME")


def _check_scopes(ctx: Ctx, group_id: str, scopes: list[Any]) -> None:
    for scope in scopes:
        if not isinstance(scope, dict) or scope.get("type") not in _SCOPE_TYPES or not scope.get("name"):
            raise bad_request(f"Each scope needs a name and a type in {', '.join(_SCOPE_TYPES)}.")
        if scope["type"] == "CLUSTER" and scope["name"] not in ctx.state.clusters[group_id]:
            raise bad_request(f"Scope names cluster {scope['name']}, which does not exist in group {group_id}.")


def delete_after(text: str, *, now: datetime) -> datetime:
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise bad_request(f"Invalid deleteAfterDate {text}: expected ISO 8601.", INVALID_DELETE_AFTER_DATE) from None
    if when.tzinfo is None:
        raise bad_request(f"deleteAfterDate {text} needs a time zone.", INVALID_DELETE_AFTER_DATE)
    if when <= now or when > now + MAX_LIFETIME:
        raise bad_request(f"deleteAfterDate {text} must be in the future and within 7 days.",
                          INVALID_DELETE_AFTER_DATE)
    return when


HANDLERS: dict[str, Handler] = {
    "listGroupDatabaseUsers": list_database_users,
    "getGroupDatabaseUser": get_database_user,
    "createGroupDatabaseUser": create_database_user,
    "updateGroupDatabaseUser": update_database_user,
    "deleteGroupDatabaseUser": delete_database_user,
}

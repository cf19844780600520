"""One request through the simulated Atlas: route, faults, auth, version, media type, org check, handler, error body.

The order is Atlas's as far as it shows from outside: an unknown path is 404 before anything else, injected
faults come before the handler (and before auth, like a gateway's rate limiter), then 401, 406/410, 415.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from atlas.sandbox import (
    auth,
    handlers_certs,
    handlers_core,
    handlers_db,
    handlers_keys,
    handlers_network,
    handlers_roles,
    handlers_teams,
    handlers_users,
    members,
)
from atlas.sandbox.context import Ctx, Handler
from atlas.sandbox.errors import (
    DEPRECATED_OPERATION,
    INVALID_JSON,
    METHOD_NOT_ALLOWED,
    RESOURCE_NOT_FOUND,
    ApiFailure,
    bad_request,
)
from atlas.sandbox.faults import Faults
from atlas.sandbox.routing import Route, RouteKind
from atlas.sandbox.state import State
from atlas.sandbox.versions import check_content_type, negotiate

HANDLERS: dict[str, Handler] = {
    **handlers_core.HANDLERS, **handlers_users.HANDLERS, **handlers_teams.HANDLERS, **handlers_keys.HANDLERS,
    **handlers_db.HANDLERS, **handlers_certs.HANDLERS, **handlers_network.HANDLERS, **handlers_roles.HANDLERS,
}
_HEX_ID = re.compile(r"^[a-f0-9]{24}$")
_HEX_PARAMS = ("orgId", "groupId", "userId", "teamId", "apiUserId", "secretId")
_JSON = "application/json"


@dataclass(frozen=True, kw_only=True)
class Incoming:
    method: str
    path: str  # percent-encoded, without the query
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    base: str  # scheme://host, for links


@dataclass(frozen=True, kw_only=True)
class Answer:
    status: int
    headers: dict[str, str]
    payload: Any  # JSON-able, or None for no body


def serve(state: State, faults: Faults, route: Route, request: Incoming, *, now: datetime) -> Answer:
    """The answer to one request; every failure becomes an Atlas error body."""
    try:
        return _serve(state, faults, route, request, now=now)
    except ApiFailure as failure:
        return Answer(status=failure.status, headers={"Content-Type": _JSON, **failure.headers},
                      payload=failure.body())


def parsed_body(request: Incoming) -> Any:
    """The body as recorded: JSON when it parses, the form for the OAuth endpoints, else the text."""
    if not request.body:
        return None
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return {k: v[0] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}
    try:
        return json.loads(request.body)
    except ValueError:
        return request.body.decode("utf-8", "replace")


def _serve(state: State, faults: Faults, route: Route, request: Incoming, *, now: datetime) -> Answer:
    if route.kind is RouteKind.UNKNOWN:
        raise ApiFailure(404, RESOURCE_NOT_FOUND, route.detail)
    if route.kind is RouteKind.DEPRECATED:
        raise ApiFailure(404, DEPRECATED_OPERATION, route.detail)
    if route.kind is RouteKind.WRONG_METHOD:
        raise ApiFailure(405, METHOD_NOT_ALLOWED, route.detail)
    faults.check(route.operation_id, admin_api=route.kind is RouteKind.API, page=_page(request.query))
    refresh(state, now=now)
    if route.kind is RouteKind.TOKEN:
        body = auth.issue_token(state, headers=request.headers, body=request.body, now=now)
        return Answer(status=200, headers={"Content-Type": _JSON, "Cache-Control": "no-store"}, payload=body)
    if route.kind is RouteKind.REVOKE:
        auth.revoke_token(state, headers=request.headers, body=request.body, now=now)
        return Answer(status=200, headers={}, payload=None)
    return _api(state, route, request, now=now)


def _api(state: State, route: Route, request: Incoming, *, now: datetime) -> Answer:
    operation = route.operation
    assert operation is not None  # an API route always has one
    caller = auth.authenticate(state, headers=request.headers, method=request.method, path=request.path, now=now)
    version = negotiate(operation, accept=request.headers.get("accept"), today=now.date())
    if request.body:
        check_content_type(request.headers.get("content-type"), version=version)
    _check_ids(route.params)
    auth.authorize(state, caller, operation, route.params)
    ctx = Ctx(state=state, now=now, caller=caller, operation=operation, params=route.params, query=request.query,
              body=_json(request.body), url=request.base + request.path)
    status, payload = HANDLERS[operation.operation_id](ctx)
    headers = {} if payload is None else {"Content-Type": f"application/vnd.atlas.{version}+json"}
    return Answer(status=status, headers=headers, payload=payload)


def refresh(state: State, *, now: datetime) -> None:
    """What Atlas does on its own as time passes: invitations expire, temporary database users go."""
    members.expire_invitations(state, now=now)
    handlers_db.expire(state, now=now)
    handlers_network.expire(state, now=now)


def _page(query: Mapping[str, str]) -> int:
    raw = query.get("pageNum", "1")
    return int(raw) if raw.isdigit() else 1


def _check_ids(params: Mapping[str, str]) -> None:
    for name in _HEX_PARAMS:
        if name in params and not _HEX_ID.match(params[name]):
            raise bad_request(f"Invalid {name} {params[name]}: expected 24 hexadecimal digits.")


def _json(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        raise bad_request("The request body is not valid JSON.", INVALID_JSON) from None

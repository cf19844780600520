"""The Okta simulator's state, auth, routing and answers (see the package's docs)."""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import parse_qsl, quote, unquote

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

RECORD_ENV = "OKTA_SANDBOX_RECORD"
QUERY = {"listGroups": {"search", "filter", "q", "after", "limit", "expand", "sortBy", "sortOrder"},
         "listGroupUsers": {"after", "limit"}}
SCOPE = {"listGroups": "okta.groups.read", "listGroupUsers": "okta.groups.read"}
ERRORS = {400: ("E0000031", "Invalid search criteria."), 401: ("E0000011", "Invalid token provided"),
          403: ("E0000006", "You do not have permission to perform the requested action"),
          404: ("E0000007", "Not found: Resource not found"), 429: ("E0000047", "API call exceeded rate limit due to "
                                                                                 "too many requests."),
          500: ("E0000009", "Internal Server Error"), 503: ("E0000009", "Service Unavailable")}
LIMIT = 600  # requests a minute, as X-Rate-Limit-Limit says
_SEARCH = re.compile(r'^profile\.name eq "((?:[^"\\]|\\.)*)"$')


class _Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass(frozen=True, kw_only=True)
class RecordedCall:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]  # lower-case; authorization cut to its scheme ("SSWS", "Bearer")
    operation_id: str | None
    status: int


@dataclass
class _App:
    public_key: rsa.RSAPublicKey
    scopes: frozenset[str]


@dataclass
class _Group:
    id: str
    name: str
    members: list[str] = field(default_factory=list)


class _Failure(Exception):
    def __init__(self, status: int, summary: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status, self.summary, self.headers = status, summary, headers or {}


class OktaSandbox:
    def __init__(self, clock: _Clock | None = None, record_path: str | None = None) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[str, bool] = {}  # SSWS token -> may read groups
        self._apps: dict[str, _App] = {}
        self._access: dict[str, frozenset[str]] = {}  # issued access token -> scopes
        self._groups: dict[str, _Group] = {}
        self._users: dict[str, dict[str, Any]] = {}
        self._fail: list[tuple[int, str | None, int]] = []  # (status, operation id or None, seconds to reset)
        self.down = False
        self.calls: list[RecordedCall] = []
        self._record = record_path or os.environ.get(RECORD_ENV) or None
        self._ids = 0

    def __repr__(self) -> str:
        return f"OktaSandbox(groups={len(self._groups)}, users={len(self._users)}, calls={len(self.calls)})"

    # --- seeding ------------------------------------------------------------------------------------------------

    def add_api_token(self, *, can_read: bool = True) -> str:
        token = "00" + secrets.token_urlsafe(30)
        self._tokens[token] = can_read
        return token

    def add_service_app(self, public_key: rsa.RSAPublicKey,
                        scopes: Sequence[str] = ("okta.groups.read", "okta.users.read")) -> str:
        client_id = self._new_id("0oa")
        self._apps[client_id] = _App(public_key=public_key, scopes=frozenset(scopes))
        return client_id

    def add_group(self, name: str) -> str:
        group = _Group(id=self._new_id("00g"), name=name)
        self._groups[group.id] = group
        return group.id

    def add_user(self, email: str, *, status: str = "ACTIVE", login: str | None = None) -> str:
        user_id = self._new_id("00u")
        self._users[user_id] = {"id": user_id, "status": status, "profile": {
            "email": email, "login": login or email, "firstName": email.split("@")[0], "lastName": "Example"}}
        return user_id

    def add_member(self, group_id: str, user_id: str) -> None:
        with self._lock:
            if user_id not in self._groups[group_id].members:
                self._groups[group_id].members.append(user_id)

    def remove_member(self, group_id: str, user_id: str) -> None:
        with self._lock:
            self._groups[group_id].members.remove(user_id)

    def fail_next(self, *, status: int = 503, count: int = 1, operation_id: str | None = None,
                  reset_in: int = 30) -> None:
        """The next `count` matching requests are answered `status` (429: X-Rate-Limit-Reset `reset_in` s ahead)."""
        with self._lock:
            self._fail += [(status, operation_id, reset_in)] * count

    def count(self, operation_id: str) -> int:
        return sum(1 for c in self.calls if c.operation_id == operation_id)

    def _new_id(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}{self._ids:017d}"

    # --- serving ------------------------------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: Sequence[tuple[str, str]], headers: dict[str, str],
               body: bytes, *, base: str) -> tuple[int, dict[str, str], bytes]:
        lowered = {k.lower(): v for k, v in headers.items()}
        operation, group_id = _route(method.upper(), unquote(path))
        extra: dict[str, str] = {}
        try:
            with self._lock:
                if operation == "oauthToken":
                    answer: Any = self._token(body)
                else:
                    answer, extra = self._answer(operation, group_id, list(query), lowered, base)
            status = 200
        except _Failure as failure:
            status, extra = failure.status, failure.headers
            answer = self._error_body(operation, failure)
        self._note(RecordedCall(method=method.upper(), path=path, query=list(query), headers=_safe(lowered),
                                operation_id=operation, status=status))
        return status, {"Content-Type": "application/json", **self._rate_headers(extra), **extra}, \
            json.dumps(answer).encode()

    def _answer(self, operation: str | None, group_id: str | None, query: list[tuple[str, str]],
                headers: dict[str, str], base: str) -> tuple[Any, dict[str, str]]:
        self._authorize(operation, headers)
        if operation is None:
            raise _Failure(404)
        unknown = sorted({name for name, _ in query} - QUERY[operation])
        if unknown:
            raise _Failure(400, f"Unknown query parameter: {', '.join(unknown)}")
        self._injected(operation)
        values = dict(query)
        limit = _number(values.get("limit"), 200 if operation == "listGroups" else 1000, 1, 1000)
        if operation == "listGroups":
            groups = [g for g in self._groups.values() if _matches(g, values)]
            page, following = _page([g.id for g in groups], values.get("after"), limit)
            link = f"{base}/api/v1/groups?" + "&".join(f"{k}={quote(v)}" for k, v in query if k != "after")
            return [self._group_view(self._groups[i]) for i in page], _links(link, following, limit)
        group = self._groups.get(group_id or "")
        if group is None:
            raise _Failure(404, f"Not found: Resource not found: {group_id} (UserGroup)")
        page, following = _page(group.members, values.get("after"), limit)
        return [self._users[u] for u in page], _links(f"{base}/api/v1/groups/{group.id}/users?", following, limit)

    def _authorize(self, operation: str | None, headers: dict[str, str]) -> None:
        scheme, _, credential = headers.get("authorization", "").partition(" ")
        if scheme == "SSWS" and credential in self._tokens:
            if not self._tokens[credential]:
                raise _Failure(403)
            return
        if scheme == "Bearer" and credential in self._access:
            if operation is not None and SCOPE[operation] not in self._access[credential]:
                raise _Failure(403, "The access token provided does not contain the required scopes.")
            return
        raise _Failure(401)

    def _injected(self, operation: str) -> None:
        for index, (status, only, reset_in) in enumerate(self._fail):
            if only in (None, operation):
                del self._fail[index]
                headers = {}
                if status == 429:
                    headers = {"X-Rate-Limit-Remaining": "0",
                               "X-Rate-Limit-Reset": str(int(self._now().timestamp()) + reset_in)}
                raise _Failure(status, headers=headers)

    def _token(self, body: bytes) -> dict[str, Any]:
        form = dict(parse_qsl(body.decode(), keep_blank_values=True))
        if form.get("grant_type") != "client_credentials" or form.get("client_assertion_type") != \
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
            raise _Failure(400, "invalid_request")
        client_id = self._verified(form.get("client_assertion", ""))
        wanted = frozenset(form.get("scope", "").split())
        if not wanted or not wanted <= self._apps[client_id].scopes:
            raise _Failure(400, "invalid_scope")
        token = secrets.token_urlsafe(24)
        self._access[token] = wanted
        return {"token_type": "Bearer", "expires_in": 3600, "access_token": token, "scope": " ".join(sorted(wanted))}

    def _verified(self, assertion: str) -> str:
        """The client id of a valid private_key_jwt: RS256 by the app's key, iss = sub, for our token URL, fresh."""
        try:
            head, claims, signature = assertion.split(".")
            payload = json.loads(_unb64(claims))
            app = self._apps[payload["iss"]]
            app.public_key.verify(_unb64(signature), f"{head}.{claims}".encode(), padding.PKCS1v15(),
                                  hashes.SHA256())
        except (ValueError, KeyError, InvalidSignature):
            raise _Failure(401, "invalid_client") from None
        now = self._now().timestamp()
        if payload.get("sub") != payload["iss"] or not str(payload.get("aud", "")).endswith("/oauth2/v1/token") \
                or not payload.get("iat", now + 1) <= now < payload.get("exp", 0):
            raise _Failure(401, "invalid_client")
        return str(payload["iss"])

    def _group_view(self, group: _Group) -> dict[str, Any]:
        return {"id": group.id, "type": "OKTA_GROUP", "objectClass": ["okta:user_group"],
                "profile": {"name": group.name, "description": ""}}

    def _error_body(self, operation: str | None, failure: _Failure) -> dict[str, Any]:
        if operation == "oauthToken":
            return {"error": failure.summary or "invalid_client", "error_description": "The client is not allowed."}
        code, summary = ERRORS.get(failure.status, ("E0000009", "Error"))
        return {"errorCode": code, "errorSummary": failure.summary or summary, "errorLink": code,
                "errorId": "oae" + secrets.token_hex(8), "errorCauses": []}

    def _rate_headers(self, extra: dict[str, str]) -> dict[str, str]:
        reset = str(int(self._now().timestamp()) + 60)
        return {"X-Rate-Limit-Limit": str(LIMIT), "X-Rate-Limit-Remaining": str(LIMIT - 1),
                "X-Rate-Limit-Reset": reset}

    def _now(self) -> datetime:
        now = self._clock.now() if self._clock is not None else datetime.now(UTC)
        return now if now.tzinfo is not None else now.replace(tzinfo=UTC)

    def _note(self, call: RecordedCall) -> None:
        with self._lock:
            self.calls.append(call)
            if self._record:
                with open(self._record, "a", encoding="utf-8") as handle:
                    handle.write(json.dumps({"vendor": "okta", **asdict(call)}) + "\n")


class OktaTransport(httpx.BaseTransport):
    """Hands each request to `OktaSandbox.handle`; with `down` set, no answer at all."""

    def __init__(self, sandbox: OktaSandbox) -> None:
        self.sandbox = sandbox

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.sandbox.down:
            raise httpx.ConnectError("Okta sandbox is down", request=request)
        path, _, query = request.url.raw_path.decode("ascii").partition("?")
        base = f"{request.url.scheme}://{request.url.netloc.decode('ascii')}"
        status, headers, body = self.sandbox.handle(request.method, path, parse_qsl(query, keep_blank_values=True),
                                                    dict(request.headers), request.read(), base=base)
        return httpx.Response(status, headers=headers, content=body, request=request)


def _route(method: str, path: str) -> tuple[str | None, str | None]:
    if method == "POST" and path == "/oauth2/v1/token":
        return "oauthToken", None
    if method == "GET" and path == "/api/v1/groups":
        return "listGroups", None
    parts = path.strip("/").split("/")
    if method == "GET" and len(parts) == 5 and parts[:3] == ["api", "v1", "groups"] and parts[4] == "users":
        return "listGroupUsers", parts[3]
    return None, None


def _matches(group: _Group, values: dict[str, str]) -> bool:
    if "search" in values:
        found = _SEARCH.match(values["search"])
        if found is None:
            raise _Failure(400)
        return group.name == re.sub(r"\\(.)", r"\1", found.group(1))
    if "q" in values:
        return group.name.lower().startswith(values["q"].lower())
    return True


def _page(ids: list[str], after: str | None, limit: int) -> tuple[list[str], str | None]:
    start = ids.index(after) + 1 if after in ids else 0
    page = ids[start:start + limit]
    return page, (page[-1] if page and start + limit < len(ids) else None)


def _links(url: str, following: str | None, limit: int) -> dict[str, str]:
    joiner = "" if url.endswith(("?", "&")) else "&"
    self_link = f'<{url}{joiner}limit={limit}>; rel="self"'
    if following is None:
        return {"Link": self_link}
    return {"Link": f'{self_link}, <{url}{joiner}after={following}&limit={limit}>; rel="next"'}


def _number(raw: str | None, default: int, low: int, high: int) -> int:
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _Failure(400, "limit must be a whole number") from None
    return max(low, min(high, value))


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _safe(headers: dict[str, str]) -> dict[str, str]:
    cleaned = dict(headers)
    if "authorization" in cleaned:
        cleaned["authorization"] = cleaned["authorization"].strip().split(" ", 1)[0]
    return cleaned

"""Who is calling: HTTP Digest (RFC 7616, MD5, qop=auth) for API keys, OAuth bearer tokens for service accounts.

Also the OAuth token and revoke endpoints, and the org check every Admin API call passes (a credential works
only in its own organization; writes need Organization Owner, or Project Owner on that project).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from atlas.operations import Operation
from atlas.sandbox.errors import (
    INVALID_CLIENT,
    NOT_AUTHORIZED,
    TOO_MANY_ACTIVE_TOKENS,
    UNSUPPORTED_MEDIA_TYPE,
    USER_UNAUTHORIZED,
    ApiFailure,
    bad_request,
)
from atlas.sandbox.records import ServiceAccountRecord, TokenRecord
from atlas.sandbox.state import State

REALM = "MMS Public API"
TOKEN_TTL = timedelta(hours=1)
MAX_LIVE_TOKENS = 100
_PAIR = re.compile(r'(\w+)=(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))')


@dataclass(frozen=True, kw_only=True)
class Caller:
    """An authenticated credential: an org API key or a service account."""

    kind: str  # "apiKey" | "serviceAccount"
    identity: str  # the public key or the client id
    org_id: str
    org_roles: frozenset[str]
    group_roles: Mapping[str, frozenset[str]] = field(default_factory=dict)
    key_id: str | None = None

    @property
    def email(self) -> str:
        """What Atlas shows as the inviter of invitations this credential sends."""
        return f"{self.identity.lower()}@{'apikeys' if self.kind == 'apiKey' else 'serviceaccounts'}.example.com"


def challenge_headers(state: State, *, stale: bool = False) -> dict[str, str]:
    salt = secrets.token_hex(8)  # not from the seeded generator: traffic must not shift the keys a seed gives
    nonce = salt + _mac(state, salt)
    return {"WWW-Authenticate": f'Digest realm="{REALM}", domain="", nonce="{nonce}", algorithm=MD5, qop="auth", '
                                f"stale={'true' if stale else 'false'}"}


def unauthenticated(state: State, detail: str, *, stale: bool = False) -> ApiFailure:
    return ApiFailure(401, NOT_AUTHORIZED, detail, headers=challenge_headers(state, stale=stale))


def authenticate(state: State, *, headers: Mapping[str, str], method: str, path: str, now: datetime) -> Caller:
    """The caller behind the Authorization header, or a 401 that carries a fresh Digest challenge."""
    header = headers.get("authorization", "")
    scheme, _, rest = header.partition(" ")
    if scheme.lower() == "digest":
        return _digest(state, _pairs(rest), method=method, path=path)
    if scheme.lower() == "bearer":
        return _bearer(state, rest.strip(), now=now)
    if not header:
        raise unauthenticated(state, "You are not authorized for this resource: send HTTP Digest (API key) or a "
                                     "Bearer token (service account).")
    raise unauthenticated(state, f"Unsupported authorization scheme {scheme!r} for the Admin API.")


def _digest(state: State, fields: dict[str, str], *, method: str, path: str) -> Caller:
    key = state.keys_by_public.get(fields.get("username", ""))
    nonce = fields.get("nonce", "")
    if key is None:
        raise unauthenticated(state, "You are not authorized for this resource: unknown API key.")
    if fields.get("realm") != REALM or fields.get("algorithm", "MD5").upper() != "MD5" or fields.get("qop") != "auth":
        raise unauthenticated(state, f'Digest must use realm "{REALM}", algorithm MD5 and qop=auth.')
    if not _nonce_ok(state, nonce):
        raise unauthenticated(state, "Stale or unknown digest nonce.", stale=True)
    uri = fields.get("uri", "")
    if uri.split("?", 1)[0] != path:
        raise unauthenticated(state, "The digest uri does not match the request path.")
    ha1 = _md5(f"{key.public_key}:{REALM}:{key.private_key}")
    ha2 = _md5(f"{method.upper()}:{uri}")
    expected = _md5(f"{ha1}:{nonce}:{fields.get('nc', '')}:{fields.get('cnonce', '')}:auth:{ha2}")
    if not hmac.compare_digest(expected, fields.get("response", "")):
        raise unauthenticated(state, "You are not authorized for this resource: the digest response is wrong.")
    groups = {gid: frozenset(roles) for gid, roles in key.group_roles.items()}
    return Caller(kind="apiKey", identity=key.public_key, org_id=key.org_id, org_roles=frozenset(key.org_roles),
                  group_roles=groups, key_id=key.id)


def _bearer(state: State, value: str, *, now: datetime) -> Caller:
    token = state.tokens.get(value)
    if token is None:
        raise unauthenticated(state, "The bearer token is invalid or was revoked.")
    if token.expires_at is not None and now >= token.expires_at:
        raise unauthenticated(state, "The bearer token has expired.")
    account = state.service_accounts[token.client_id]
    return Caller(kind="serviceAccount", identity=account.client_id, org_id=account.org_id,
                  org_roles=frozenset(account.roles))


def authorize(state: State, caller: Caller, operation: Operation, params: Mapping[str, str]) -> None:
    """The target org must be the caller's; writes need ORG_OWNER (or GROUP_OWNER on the target project)."""
    group_id = params.get("groupId")
    if "orgId" in params:
        org_id = state.org(params["orgId"]).id
    elif group_id is not None:
        org_id = state.project(group_id).org_id
    else:
        return  # listOrgs, listGroups, getSystemStatus, rate limits: answered from the caller's own org
    if org_id != caller.org_id:
        raise ApiFailure(401, USER_UNAUTHORIZED, "Current user is not authorized to perform this action: the "
                         f"credential belongs to another organization than {org_id}.")
    if operation.method == "GET" or "ORG_OWNER" in caller.org_roles:
        return
    if group_id is not None and "GROUP_OWNER" in caller.group_roles.get(group_id, frozenset()):
        return
    raise ApiFailure(401, USER_UNAUTHORIZED, f"Current user is not authorized to perform this action: "
                     f"{operation.operation_id} needs Organization Owner.")


# --- the OAuth endpoints ---------------------------------------------------------------------------------------


def issue_token(state: State, *, headers: Mapping[str, str], body: bytes, now: datetime) -> dict[str, Any]:
    """POST /api/oauth/token: client credentials in Basic auth, form grant_type=client_credentials."""
    form = _form(headers, body)
    account, secret_id = _client(state, headers, now=now)
    if form.get("grant_type") != "client_credentials":
        raise bad_request("grant_type must be client_credentials.", "UNSUPPORTED_GRANT_TYPE")
    live = sorted(t.expires_at for t in state.tokens.values()
                  if t.client_id == account.client_id and t.expires_at and t.expires_at > now)
    if len(live) >= MAX_LIVE_TOKENS:
        wait = max(1, int((live[0] - now).total_seconds()) + 1)
        raise ApiFailure(429, TOO_MANY_ACTIVE_TOKENS, f"Service account {account.client_id} already has "
                         f"{MAX_LIVE_TOKENS} live access tokens; reuse one until it expires.",
                         headers={"Retry-After": str(wait)})
    value = "sbx_" + state.random_text(48, string.ascii_letters + string.digits)
    state.tokens[value] = TokenRecord(value=value, client_id=account.client_id, secret_id=secret_id,
                                      expires_at=now + TOKEN_TTL)
    state.tokens_issued[account.client_id] += 1
    return {"access_token": value, "expires_in": int(TOKEN_TTL.total_seconds()), "token_type": "Bearer"}


def revoke_token(state: State, *, headers: Mapping[str, str], body: bytes, now: datetime) -> None:
    """POST /api/oauth/revoke: forgets one of the calling client's tokens (an unknown token is fine, RFC 7009)."""
    form = _form(headers, body)
    account, _ = _client(state, headers, now=now)
    token = state.tokens.get(form.get("token", ""))
    if token is not None and token.client_id == account.client_id:
        del state.tokens[token.value]


def forget_tokens(state: State, *, client_id: str, secret_id: str | None = None) -> None:
    """Drop the tokens a deleted service account (or one deleted secret of it) had minted."""
    for value in [v for v, t in state.tokens.items()
                  if t.client_id == client_id and (secret_id is None or t.secret_id == secret_id)]:
        del state.tokens[value]


def _client(state: State, headers: Mapping[str, str], *, now: datetime) -> tuple[ServiceAccountRecord, str]:
    scheme, _, encoded = headers.get("authorization", "").partition(" ")
    try:
        client_id, _, secret = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        client_id, secret = "", ""
    account = state.service_accounts.get(client_id) if scheme.lower() == "basic" else None
    if account is not None:
        for record in account.secrets.values():
            if hmac.compare_digest(record.value, secret) and (record.expires_at is None or now < record.expires_at):
                record.last_used = now
                return account, record.id
    raise ApiFailure(401, INVALID_CLIENT, "Invalid client credentials: send Basic base64(clientId:clientSecret) "
                     "with a live secret.")


def _form(headers: Mapping[str, str], body: bytes) -> dict[str, str]:
    media = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        raise ApiFailure(415, UNSUPPORTED_MEDIA_TYPE, "The token endpoints take application/x-www-form-urlencoded.")
    parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[0] for name, values in parsed.items()}


def _pairs(text: str) -> dict[str, str]:
    return {m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3) for m in _PAIR.finditer(text)}


def _nonce_ok(state: State, nonce: str) -> bool:
    return len(nonce) > 16 and hmac.compare_digest(nonce[16:], _mac(state, nonce[:16]))


def _mac(state: State, salt: str) -> str:
    return hmac.new(state.nonce_key, salt.encode(), hashlib.sha256).hexdigest()[:24]


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()

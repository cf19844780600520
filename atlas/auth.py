"""How the client proves who it is: HTTP Digest for API keys, cached OAuth bearer tokens for service accounts."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from access.ports import Clock
from atlas.credentials import ApiKey, Credentials, ServiceAccount
from atlas.errors import AtlasTransportError, error_for, scrub

log = logging.getLogger(__name__)

TOKEN_PATH = "/api/oauth/token"
REVOKE_PATH = "/api/oauth/revoke"
TOKEN_OPERATION = "oauthToken"  # not Admin API operations; they name the OAuth calls in errors and metrics
REVOKE_OPERATION = "oauthRevoke"
REFRESH_MARGIN = timedelta(seconds=60)


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def digest_auth(credentials: Credentials) -> httpx.Auth | None:
    """The httpx auth for an API key; None for a service account (the client sets the bearer header itself)."""
    if isinstance(credentials, ApiKey):
        return httpx.DigestAuth(credentials.public_key, credentials.private_key.get_secret_value())
    return None


@dataclass(frozen=True)
class _Token:
    value: str
    refresh_at: datetime

    def __repr__(self) -> str:
        return f"_Token(value='**********', refresh_at={self.refresh_at.isoformat()})"


class TokenCache:
    """One service account's bearer token: fetched once, shared by every thread, refreshed shortly before expiry.

    Atlas allows at most 100 live tokens per service account and rate-limits the token endpoint, so a token
    is never fetched per call; the lock makes concurrent callers wait for the one fetch in progress.
    """

    def __init__(self, *, http: httpx.Client, account: ServiceAccount, clock: Clock,
                 on_call: Callable[[str, float, int], None] | None = None) -> None:
        self._http = http
        self._account = account
        self._clock = clock
        self._on_call = on_call
        self._lock = threading.Lock()
        self._token: _Token | None = None

    def token(self) -> tuple[str, bool]:
        """The bearer token to send, and whether it was fetched just now (a refused fresh token is not retried)."""
        with self._lock:
            token = self._token
            if token is not None and self._clock.now() < token.refresh_at:
                return token.value, False
            self._token = self._fetch()
            return self._token.value, True

    def invalidate(self, value: str) -> None:
        """Forget `value` (Atlas refused it); a token another thread already replaced it with is kept."""
        with self._lock:
            if self._token is not None and self._token.value == value:
                self._token = None

    def revoke(self) -> None:
        """Revoke the cached token, best effort: Atlas counts live tokens (100 at most) until they expire."""
        with self._lock:
            token, self._token = self._token, None
        if token is None:
            return
        started, status = time.perf_counter(), 0
        try:
            response = self._http.post(REVOKE_PATH, data={"token": token.value, "token_type_hint": "access_token"},
                                       auth=self._basic(), headers={"Accept": "application/json"})
            status = response.status_code
        except httpx.TransportError as error:
            log.info("could not revoke the bearer token (%s); it expires on its own", type(error).__name__)
        finally:
            self._report(REVOKE_OPERATION, started, status)

    def _basic(self) -> httpx.BasicAuth:
        return httpx.BasicAuth(self._account.client_id, self._account.client_secret.get_secret_value())

    def _report(self, operation_id: str, started: float, status: int) -> None:
        if self._on_call is not None:
            self._on_call(operation_id, time.perf_counter() - started, status)

    def _fetch(self) -> _Token:
        started, status = time.perf_counter(), 0
        try:
            response = self._http.post(TOKEN_PATH, data={"grant_type": "client_credentials"}, auth=self._basic(),
                                       headers={"Accept": "application/json"})
            status = response.status_code
        except httpx.TransportError as error:
            # `from None`: the httpx error holds the request, whose Basic header encodes the secret.
            raise AtlasTransportError(f"token request failed ({type(error).__name__})",
                                      operation_id=TOKEN_OPERATION) from None
        finally:
            self._report(TOKEN_OPERATION, started, status)
        if status != 200:
            raise _token_error(response, secrets=(self._account.client_secret.get_secret_value(),))
        return self._parse(response.json())

    def _parse(self, body: dict[str, Any]) -> _Token:
        lifetime = timedelta(seconds=float(body.get("expires_in", 3600)))
        # Refresh a minute early, or halfway through a token that lives less than two minutes.
        margin = min(REFRESH_MARGIN, lifetime / 2)
        log.debug("fetched a bearer token for service account %s (lives %s)", self._account.client_id, lifetime)
        return _Token(value=str(body["access_token"]), refresh_at=self._clock.now() + lifetime - margin)


def _token_error(response: httpx.Response, *, secrets: Sequence[str]) -> Exception:
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    code = body.get("errorCode") or body.get("error")
    detail = body.get("detail") or body.get("error_description") or response.reason_phrase
    return error_for(status=response.status_code, error_code=str(code) if code else None,
                     detail=scrub(str(detail), secrets) if detail else None, operation_id=TOKEN_OPERATION)

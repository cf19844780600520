"""The Okta management API client: SSWS API token or OAuth 2.0 service-app auth (a `private_key_jwt` client
assertion, the access token cached until shortly before it expires), `Link: <…>; rel="next"` paging, short
timeouts, and every failure as the domain's GatewayError.

A 429 carries Okta's `X-Rate-Limit-Reset` (the epoch second the limit resets): the client raises it as
GatewayRateLimited with the seconds left, and calls that connection no more until then, so a burst of clicks does
not keep Okta's limit spent. Secrets (the token, the private key, the access token) appear in no error or log.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from access.connections import OktaApiToken, OktaConnection
from access.errors import (
    GatewayError,
    GatewayRateLimited,
    GatewayRefused,
    GatewayUnauthorized,
    GatewayUnreachable,
)
from access.ports import Clock

TIMEOUT = httpx.Timeout(4.0, connect=2.0)
PAGE = 200  # Okta allows up to 1,000 group members a page; 200 keeps each answer quick
MAX_PAGES = 100  # 20,000 members: past that a group is not a list of approvers
SCOPES = "okta.groups.read okta.users.read"
TOKEN_PATH = "/oauth2/v1/token"
_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')

Params = Sequence[tuple[str, str]]


class OktaClient:
    """One Okta org with one set of credentials; thread-safe."""

    def __init__(self, *, connection: OktaConnection, clock: Clock, transport: httpx.BaseTransport | None = None,
                 timeout: httpx.Timeout = TIMEOUT, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._connection = connection
        self._clock = clock
        self._monotonic = monotonic
        self.base_url = connection.base_url
        self._http = httpx.Client(base_url=self.base_url, transport=transport, timeout=timeout,
                                  headers={"Accept": "application/json"})
        self._lock = threading.Lock()
        self._token: tuple[str, float] | None = None  # a service app's access token, and when to renew it
        self._cooldown_until: datetime | None = None  # after a 429: no call before Okta's reset

    def __repr__(self) -> str:
        return f"OktaClient({self.base_url})"

    def close(self) -> None:
        self._http.close()

    def get(self, operation: str, path: str, params: Params = ()) -> tuple[Any, httpx.Headers]:
        """One GET: the JSON answered and the headers (for `Link`)."""
        self._wait_out(operation)
        # No `params` for a `Link` URL: httpx would replace the query the URL carries with an empty one.
        response = self._send(operation, "GET", path, params=list(params) or None,
                              headers={"Authorization": self._authorization()})
        return _json(operation, response), response.headers

    def paginate(self, operation: str, path: str, params: Params = ()) -> Iterator[dict[str, Any]]:
        """Every item across pages, following `Link: <…>; rel="next"` (a URL on the same org only)."""
        url: str | None = path
        query: Params = params
        for _ in range(MAX_PAGES):
            assert url is not None
            items, headers = self.get(operation, url, query)
            if not isinstance(items, list):
                raise GatewayUnreachable("Okta answered with an unexpected shape", operation=operation)
            yield from (item for item in items if isinstance(item, dict))
            url, query = self._next(headers), ()
            if url is None:
                return
        raise GatewayRefused(f"Okta kept answering more pages of {operation}", operation=operation)

    # --- auth ---------------------------------------------------------------------------------------------------

    def _authorization(self) -> str:
        creds = self._connection.credentials
        if isinstance(creds, OktaApiToken):
            assert creds.token is not None
            return f"SSWS {creds.token.get_secret_value()}"
        with self._lock:
            if self._token is not None and self._monotonic() < self._token[1]:
                return f"Bearer {self._token[0]}"
        token, lifetime = self._new_token()
        with self._lock:
            self._token = (token, self._monotonic() + max(0.0, lifetime - 60))
        return f"Bearer {token}"

    def _new_token(self) -> tuple[str, float]:
        creds = self._connection.credentials
        assert not isinstance(creds, OktaApiToken) and creds.client_id and creds.private_key
        audience = self.base_url + TOKEN_PATH
        assertion = client_assertion(client_id=creds.client_id, private_key=creds.private_key.get_secret_value(),
                                     audience=audience, key_id=creds.key_id, now=self._clock.now())
        response = self._send("oauthToken", "POST", TOKEN_PATH, data={
            "grant_type": "client_credentials", "scope": SCOPES, "client_assertion": assertion,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"})
        body = _json("oauthToken", response)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str):
            raise GatewayUnauthorized("Okta issued no access token", operation="oauthToken")
        return token, float(body.get("expires_in") or 3600)

    # --- the wire -----------------------------------------------------------------------------------------------

    def _send(self, operation: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as error:  # the type only: a message may quote a URL
            raise GatewayUnreachable(f"Okta did not answer ({type(error).__name__})", operation=operation) from None
        if response.status_code >= 400:
            raise self._error(operation, response)
        return response

    def _error(self, operation: str, response: httpx.Response) -> GatewayError:
        status = response.status_code
        code, summary = _described(response)
        words = f"Okta answered {status}" + (f" ({code}): {summary}" if summary else "")
        if status in (401, 403) or (operation == "oauthToken" and status == 400):
            return GatewayUnauthorized(words, operation=operation, status=status, code=code, detail=summary)
        if status == 429:
            wait = self._cool_down(response.headers)
            return GatewayRateLimited(words, operation=operation, code=code, detail=summary, retry_after=wait)
        if status >= 500:
            return GatewayUnreachable(words, operation=operation, status=status, code=code, detail=summary)
        return GatewayRefused(words, operation=operation, status=status, code=code, detail=summary)

    def _cool_down(self, headers: httpx.Headers) -> float | None:
        try:
            reset = float(headers.get("x-rate-limit-reset", ""))
        except ValueError:
            return None
        now = self._clock.now()
        until = datetime.fromtimestamp(reset, tz=now.tzinfo)
        with self._lock:
            self._cooldown_until = until
        return max(0.0, (until - now).total_seconds())

    def _wait_out(self, operation: str) -> None:
        with self._lock:
            until = self._cooldown_until
        now = self._clock.now()
        if until is not None and now < until:
            raise GatewayRateLimited("Okta's rate limit has not reset yet", operation=operation,
                                     retry_after=(until - now).total_seconds())

    def _next(self, headers: httpx.Headers) -> str | None:
        for link in headers.get_list("link"):
            found = _NEXT.search(link)
            if found:
                target = urlsplit(found.group(1))
                if f"{target.scheme}://{target.netloc}" != self.base_url:
                    raise GatewayRefused("Okta's next page is on another host", operation="listGroupUsers")
                return target.path + (f"?{target.query}" if target.query else "")
        return None


def client_assertion(*, client_id: str, private_key: str, audience: str, key_id: str | None, now: datetime) -> str:
    """A `private_key_jwt` client assertion (RS256), as Okta's service apps authenticate."""
    key = serialization.load_pem_private_key(private_key.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise GatewayUnauthorized("the Okta private key is not an RSA key", operation="oauthToken")
    header = {"alg": "RS256", "typ": "JWT", **({"kid": key_id} if key_id else {})}
    issued = int(now.timestamp())
    claims = {"iss": client_id, "sub": client_id, "aud": audience, "iat": issued, "exp": issued + 300,
              "jti": uuid.uuid4().hex}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64(signature)}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _json(operation: str, response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise GatewayUnreachable("Okta answered with something that is not JSON", operation=operation,
                                 status=response.status_code) from None


def _described(response: httpx.Response) -> tuple[str | None, str | None]:
    """Okta's error object: `errorCode` (E0000011…) and `errorSummary` (short, no secret)."""
    try:
        body = response.json()
    except ValueError:
        return None, None
    if not isinstance(body, dict):
        return None, None
    code = body.get("errorCode") or body.get("error")
    summary = body.get("errorSummary") or body.get("error_description")
    return (str(code) if code else None), (str(summary)[:300] if summary else None)

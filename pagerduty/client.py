"""The PagerDuty REST API v2 client: `Authorization: Token token=…`, the versioned Accept header, offset paging
(`limit`/`offset`/`more`), short timeouts, and every failure as the domain's GatewayError.

One try per call: the on-call check runs while a person waits for the modal or for Slack's 3-second ack, and an
answer PagerDuty does not give in time is an outage there (the request then goes to its approvers). A 429 says
how long to wait in `ratelimit-reset` (PagerDuty's rate-limit headers); it is carried, not slept through.
The API key is sent in one header and appears in no error, log line or repr.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import httpx

from access.errors import (
    GatewayError,
    GatewayRateLimited,
    GatewayRefused,
    GatewayUnauthorized,
    GatewayUnreachable,
)

log = logging.getLogger(__name__)
DEFAULT_BASE_URL = "https://api.pagerduty.com"  # EU service region: https://api.eu.pagerduty.com
ACCEPT = "application/vnd.pagerduty+json;version=2"
TIMEOUT = httpx.Timeout(4.0, connect=2.0)
PAGE = 100  # PagerDuty's largest classic page
MAX_PAGES = 50  # 5,000 on-call entries is far past any schedule set; a longer answer is a loop, not data

Params = Sequence[tuple[str, str]]


class PagerDutyClient:
    def __init__(self, *, api_key: str, base_url: str = DEFAULT_BASE_URL,
                 transport: httpx.BaseTransport | None = None, timeout: httpx.Timeout = TIMEOUT) -> None:
        self._key = api_key
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, transport=transport, timeout=timeout,
                                  headers={"Accept": ACCEPT, "Content-Type": "application/json"})

    def __repr__(self) -> str:
        return f"PagerDutyClient({self.base_url})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> PagerDutyClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, operation: str, path: str, params: Params = ()) -> dict[str, Any]:
        """One GET; the JSON object answered. Raises GatewayError (401/403 unauthorized, 404 and other 4xx
        refused, 429 rate-limited with its reset, 5xx and no answer unreachable)."""
        try:
            response = self._http.get(path, params=list(params),
                                      headers={"Authorization": f"Token token={self._key}"})
        except httpx.HTTPError as error:  # the type only: a message may quote the URL
            raise GatewayUnreachable(f"PagerDuty did not answer ({type(error).__name__})",
                                     operation=operation) from None
        if response.status_code >= 400:
            raise _error(operation, response)
        try:
            body = response.json()
        except ValueError:
            raise GatewayUnreachable("PagerDuty answered with something that is not JSON", operation=operation,
                                     status=response.status_code) from None
        if not isinstance(body, dict):
            raise GatewayUnreachable("PagerDuty answered with an unexpected shape", operation=operation)
        return body

    def paginate(self, operation: str, path: str, key: str, params: Params = ()) -> Iterator[dict[str, Any]]:
        """Every item of `key` across pages (`offset`/`limit` until `more` is false)."""
        offset = 0
        for _ in range(MAX_PAGES):
            page = self.get(operation, path, [*params, ("limit", str(PAGE)), ("offset", str(offset))])
            items = page.get(key) or []
            yield from (item for item in items if isinstance(item, dict))
            if not page.get("more") or not items:
                return
            offset += len(items)
        raise GatewayRefused(f"PagerDuty kept answering more pages of {key}", operation=operation)


def _error(operation: str, response: httpx.Response) -> GatewayError:
    status = response.status_code
    code, message = _described(response)
    words = f"PagerDuty answered {status}" + (f": {message}" if message else "")
    if status in (401, 403):
        return GatewayUnauthorized(words, operation=operation, status=status, code=code, detail=message)
    if status == 429:
        return GatewayRateLimited(words, operation=operation, code=code, detail=message,
                                  retry_after=_reset(response.headers))
    if status >= 500:
        return GatewayUnreachable(words, operation=operation, status=status, code=code, detail=message)
    return GatewayRefused(words, operation=operation, status=status, code=code, detail=message)


def _described(response: httpx.Response) -> tuple[str | None, str | None]:
    """PagerDuty's error object: `{"error": {"code": 2006, "message": "...", "errors": [...]}}` (short, no secret)."""
    try:
        error = (response.json() or {}).get("error") or {}
    except (ValueError, AttributeError):
        return None, None
    if not isinstance(error, dict):
        return None, None
    code = str(error["code"]) if error.get("code") is not None else None
    parts = [str(error.get("message") or "")] + [str(e) for e in error.get("errors") or []]
    message = "; ".join(p for p in parts if p)[:300] or None
    return code, message


def _reset(headers: Mapping[str, str]) -> float | None:
    for name in ("ratelimit-reset", "retry-after"):
        value = headers.get(name)
        if value is not None:
            try:
                return max(0.0, float(value))
            except ValueError:
                return None
    return None

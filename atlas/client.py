"""The typed Atlas Admin API v2 client: auth, per-operation versions, paging, typed errors, retries, concurrency.

    client = AtlasClient(credentials=ApiKey(public_key="abc", private_key="..."))
    org = client.call("getOrg", path_params={"orgId": org_id})
    for project in client.paginate("getOrgGroups", path_params={"orgId": org_id}, priority=Priority.BULK):
        ...

Every call names a row of `atlas.operations` by operationId; the client sends that row's version in Accept
(and Content-Type when there is a body), so a version bump is a one-line change checked against the spec.
The client is thread-safe: each call in flight (at most `max_concurrency`) holds an httpx transport of one kept-alive
connection for its exchange (`_Transports`), and the calls share one Digest auth and one SSL context.
"""

from __future__ import annotations

import json as jsonlib
import logging
import threading
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.cookiejar import CookieJar
from typing import Any
from urllib.parse import quote
from urllib.request import getproxies

import httpx

from access.ports import Clock
from atlas.auth import SystemClock, TokenCache, digest_auth
from atlas.credentials import ApiKey, Credentials, secrets_of
from atlas.errors import AtlasError, AtlasRateLimited, AtlasServerError, AtlasTransportError, error_for, scrub
from atlas.limits import Cooldown, Priority, Slots
from atlas.operations import Operation, op
from atlas.paging import ITEMS_PER_PAGE, read_pages
from atlas.retry import RetryPolicy, is_idempotent, parse_retry_after

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://cloud.mongodb.com"
# Explicit: httpx's default is 5 s for everything; a 500-item page of users can take longer to come back.
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0, pool=60.0)
USER_AGENT = "atlas-access/0.1 (+https://github.com/atlas-access)"
# What httpx's client would add to every request (its own User-Agent aside).
_HEADERS = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate", "Connection": "keep-alive"}

OnCall = Callable[[str, float, int], None]


class NoCookies(CookieJar):
    """A jar that keeps nothing: the Admin API holds no session in cookies, and a call must not carry what an earlier
    answer set. httpx reads every answer's headers into its jar otherwise: about a tenth of its CPU per call
    (py-spy on bench/revocation.py)."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None

    def add_cookie_header(self, request: Any) -> None:
        return None


class AtlasClient:
    def __init__(
        self,
        *,
        base_url: str = DEFAULT_BASE_URL,
        credentials: Credentials,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        max_concurrency: int = 8,
        max_retries: int = 5,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        clock: Clock | None = None,
        sleep: Callable[[float], None] = time.sleep,
        on_call: OnCall | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self._slots = Slots(max_concurrency)
        self._policy = RetryPolicy(max_retries=max_retries, backoff_base=backoff_base, backoff_cap=backoff_cap)
        self._clock = clock or SystemClock()
        self._sleep = sleep
        self._on_call = on_call
        self._cooldown = Cooldown()
        self._secrets = secrets_of(credentials)
        # Made once and shared: the Digest auth keeps the server's last challenge, so a new connection's first call is
        # not refused (401) for want of one; each transport would load the CA certificates into a context of its own.
        self._auth, self._timeout = digest_auth(credentials), timeout.as_dict()
        verify = httpx.create_ssl_context() if transport is None else True

        # The proxy httpx's client would take from the environment, for every call (they all go to base_url).
        proxy = environment_proxy(httpx.URL(self.base_url))

        def make_transport() -> httpx.BaseTransport:
            return httpx.HTTPTransport(verify=verify, proxy=proxy, limits=httpx.Limits(max_connections=1,
                                                                                      max_keepalive_connections=1))

        # One transport (a connection) per call in flight; the one built now imports httpcore and opens nothing, so
        # building this AtlasClient at start (GatewayFactory.prepare) spares the first call that cost.
        self._exchanges = _Transports(make_transport if transport is None else (lambda: transport),
                                      shared=transport is not None)
        # A service account's token calls go on a client of their own, never waiting behind a call.
        self._http: httpx.Client | None = None
        self._tokens: TokenCache | None = None
        if not isinstance(credentials, ApiKey):
            self._http = httpx.Client(base_url=self.base_url, transport=transport, timeout=timeout, verify=verify,
                                      headers={"User-Agent": USER_AGENT}, follow_redirects=False, cookies=NoCookies())
            self._tokens = TokenCache(http=self._http, account=credentials, clock=self._clock, on_call=self._report)

    def __repr__(self) -> str:
        return f"AtlasClient(base_url={self.base_url!r}, identity={self.identity!r})"

    @property
    def identity(self) -> str:
        """The API key's public key or the service account's client id (never the secret)."""
        return self.credentials.identity

    @property
    def max_concurrency(self) -> int:
        return self._slots.size

    def close(self) -> None:
        """Revoke a service account's cached token and close the connections."""
        if self._tokens is not None:
            self._tokens.revoke()
        self._exchanges.close()
        if self._http is not None:
            self._http.close()

    def __enter__(self) -> AtlasClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the API -------------------------------------------------------------------------------------------

    def call(
        self, operation_id: str, *, path_params: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None, json: Any = None, priority: Priority = Priority.NORMAL,
    ) -> Any:
        """Run one operation; the parsed JSON body (None for 204 or an empty body), or an AtlasError.

        An operation whose answer the spec gives as a bare string (`Operation.answers_text`: a certificate's PEM
        file) returns that string: Atlas sends it as is, under the versioned JSON media type, and a JSON-quoted
        string is read as the same text."""
        operation = op(operation_id)
        # The whole URL: a path alone makes httpx parse the URL twice (its own, then merged with the base URL), a
        # tenth of the client's CPU per call.
        response = self._send(operation, url=self.base_url + _url(operation, path_params or {}), params=params,
                              body=json, priority=priority)
        if response.status_code == 204 or not response.content:
            return None
        if operation.answers_text:
            return _text(response)
        return response.json()

    def paginate(
        self, operation_id: str, *, path_params: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None, priority: Priority = Priority.NORMAL, read_ahead: int = 0,
    ) -> Generator[dict[str, Any], None, None]:
        """Every item of a list operation, 500 a page, fetched page by page as the caller iterates.

        With `read_ahead` > 0, once the first page's `totalCount` says how many pages there are, up to that many
        of the next pages are fetched on threads while the caller reads the current one (see `paging.ReadAhead`);
        items still come in page order. Each page is one call retried on its own (429, 5xx): a failing page never
        makes the pages before it be read again. A caller that may stop early closes it (`contextlib.closing`), so
        the pages read ahead are let go at once rather than whenever the generator is collected.
        """
        def fetch(page: int) -> dict[str, Any]:
            query = {**(params or {}), "itemsPerPage": ITEMS_PER_PAGE, "pageNum": page, "includeCount": "true"}
            return self.call(operation_id, path_params=path_params, params=query, priority=priority) or {}

        return read_pages(fetch, read_ahead=read_ahead)

    # --- one operation, retried ----------------------------------------------------------------------------

    def _send(self, operation: Operation, *, url: str, params: Mapping[str, Any] | None, body: Any,
              priority: Priority) -> httpx.Response:
        request = _Request(operation=operation, url=url, params=dict(params or {}), body=body, priority=priority)
        idempotent = is_idempotent(operation)
        attempt = 0
        while True:
            if attempt == 0 and priority is Priority.BULK and (pause := self._cooldown.remaining()) > 0:
                self._sleep(pause)  # another call was just told 429: let the bucket refill first
            try:
                response = self._attempt(request)
            except (httpx.TransportError, AtlasTransportError, AtlasServerError, AtlasRateLimited) as error:
                wait = self._wait_after_error(error, attempt, idempotent)
                if wait is None:
                    raise self._no_answer(operation, error) from None
            else:
                if response.is_success:
                    return response
                wait = self._wait_after_status(response, attempt, idempotent)
                if wait is None:
                    raise self._http_error(operation, response)
            attempt += 1
            self._sleep(wait)

    def _wait_after_status(self, response: httpx.Response, attempt: int, idempotent: bool) -> float | None:
        wait = self._policy.after_status(status=response.status_code, retry_after=response.headers.get("Retry-After"),
                                         attempt=attempt, idempotent=idempotent, now=self._clock.now())
        if wait is not None:
            rate_limited = response.status_code == 429
            if rate_limited:
                self._cooldown.start(wait)
            # A 429 is Atlas pacing us, part of normal work; a 5xx is worth a look.
            log.log(logging.INFO if rate_limited else logging.WARNING, "Atlas answered HTTP %s; retry %d of %d in "
                    "%.2fs", response.status_code, attempt + 1, self._policy.max_retries, wait)
        return wait

    def _wait_after_error(self, error: Exception, attempt: int, idempotent: bool) -> float | None:
        if isinstance(error, AtlasError):  # the token call failed (no answer, 5xx, 429): the operation was not sent
            return self._policy.backoff(attempt) if attempt < self._policy.max_retries else None
        wait = self._policy.after_no_answer(error=error, attempt=attempt, idempotent=idempotent)
        if wait is not None:
            log.warning("no answer from Atlas (%s); retry %d of %d in %.2fs", type(error).__name__, attempt + 1,
                        self._policy.max_retries, wait)
        return wait

    def _attempt(self, request: _Request) -> httpx.Response:
        """One HTTP exchange under a concurrency slot; a bearer token Atlas refuses is replaced once."""
        tokens = self._tokens
        with self._slots.hold(request.priority):
            if tokens is None:
                return self._exchange(request, None)
            token, fresh = tokens.token()
            response = self._exchange(request, token)
            if response.status_code == 401 and not fresh:  # revoked or expired early: one more try, new token
                tokens.invalidate(token)
                response = self._exchange(request, tokens.token()[0])
            return response

    def _exchange(self, request: _Request, token: str | None) -> httpx.Response:
        """One request and its whole answer, on a transport of its own (see `_Transports`), with the Digest auth's
        challenge answered when Atlas sends one.

        Straight to the transport, not through `httpx.Client.request`: the client's layers (the request merged with
        its defaults, event hooks, redirects, a cookie jar fed every answer's headers, each also a generator or a
        context manager) were a fifth of the CPU of a call to the sandbox, and an Atlas call holds none of what they
        are for (no redirect is followed; the Admin API keeps no cookie)."""
        operation = request.operation
        headers = {**_HEADERS, "Accept": operation.media_type}
        content = None
        if request.body is not None:
            headers["Content-Type"] = operation.media_type
            content = jsonlib.dumps(request.body).encode()
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        http_request = httpx.Request(operation.method, request.url, params=request.params or None, content=content,
                                     headers=headers, extensions={"timeout": self._timeout})
        started, status = time.perf_counter(), 0
        try:
            with self._exchanges.one() as transport:
                response = _send(transport, http_request, self._auth)
            status = response.status_code
            return response
        finally:
            self._report(operation.operation_id, time.perf_counter() - started, status)

    def _report(self, operation_id: str, seconds: float, status: int) -> None:
        log.debug("Atlas %s -> %s in %.3fs", operation_id, status or "no answer", seconds)
        if self._on_call is not None:
            self._on_call(operation_id, seconds, status)

    # --- errors --------------------------------------------------------------------------------------------

    def _http_error(self, operation: Operation, response: httpx.Response) -> AtlasError:
        code, detail = _error_body(response)
        retry_after = None
        if response.status_code == 429:  # how long Atlas asked us to wait, for the caller's own backoff
            retry_after = parse_retry_after(response.headers.get("Retry-After"), now=self._clock.now())
        return error_for(status=response.status_code, error_code=code,
                         detail=scrub(detail, self._secrets) if detail else None,
                         operation_id=operation.operation_id, retry_after=retry_after)

    def _no_answer(self, operation: Operation, error: Exception) -> AtlasError:
        if isinstance(error, AtlasError):
            return error
        kind = "timed out" if isinstance(error, httpx.TimeoutException) else "connection failed"
        reason = scrub(str(error), self._secrets) or type(error).__name__
        return AtlasTransportError(f"{kind} ({type(error).__name__}: {reason}) calling {self.base_url}",
                                   operation_id=operation.operation_id)


class _Transports:
    """httpx transports of one kept-alive connection each, one per call in flight, reused last in first out (calls
    made one after another go over one connection); a transport given to the AtlasClient (`shared`: a test's) serves
    every call.

    Not one transport whose pool holds every connection: at each request and each answer httpcore's pool takes its
    lock and polls every idle connection to see whether the server closed it, and each poll lets the GIL go to
    another thread and waits to take it back. Sixteen threads calling the sandbox took 1.4 ms of CPU a call through
    one pool, 1.0-1.1 ms with a connection each; in bench/revocation.py's replicas (flaky Atlas), 1.67-1.70 ms a call
    became 1.48-1.53 ms. The calls run under the AtlasClient's slots, so there are never more transports than
    `max_concurrency`.
    """

    def __init__(self, make: Callable[[], httpx.BaseTransport], *, shared: bool) -> None:
        self._make, self._shared = make, shared
        self._lock = threading.Lock()
        self._idle: list[httpx.BaseTransport] = [make()]
        self._made: list[httpx.BaseTransport] = list(self._idle)
        self._closed = False

    @contextmanager
    def one(self) -> Iterator[httpx.BaseTransport]:
        if self._shared:
            yield self._made[0]
            return
        with self._lock:
            transport = self._idle.pop() if self._idle else None
        if transport is None:
            transport = self._make()
            with self._lock:
                self._made.append(transport)
        try:
            yield transport
        finally:
            with self._lock:
                closed = self._closed
                if not closed:
                    self._idle.append(transport)
            if closed:  # the AtlasClient was closed while this call ran
                transport.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            transports, self._made, self._idle = self._made, [], []
        for transport in transports:
            transport.close()


def _send(transport: httpx.BaseTransport, request: httpx.Request, auth: httpx.Auth | None) -> httpx.Response:
    """`request` through `transport`, its answer read whole, driving `auth`'s flow as httpx's client does (Digest: a
    401 with a challenge is answered once, and later requests carry the answer from the start)."""
    if auth is None:
        return _read(transport, request)
    flow = auth.sync_auth_flow(request)
    request = next(flow)
    while True:
        response = _read(transport, request)
        try:
            request = flow.send(response)
        except StopIteration:
            return response


def _read(transport: httpx.BaseTransport, request: httpx.Request) -> httpx.Response:
    response = transport.handle_request(request)
    response.request = request
    try:
        response.read()
    finally:
        response.close()
    return response


@dataclass(frozen=True, kw_only=True, slots=True)
class _Request:
    operation: Operation
    url: str
    params: dict[str, Any]
    body: Any
    priority: Priority


def environment_proxy(url: httpx.URL, proxies: Mapping[str, str] | None = None) -> str | None:
    """The proxy for `url` from the environment (`proxies`: as `urllib.request.getproxies()` reads it), as httpx's
    client mounts it with `trust_env`: HTTPS_PROXY / HTTP_PROXY for the scheme, else ALL_PROXY, a bare host meaning
    http://; none when NO_PROXY names the host as curl reads it (`*` for every host; `example.com` for it and its
    subdomains; `.example.com` for its subdomains; an address or `localhost` for itself; `scheme://host`; `:port`
    narrowing any of them). The calls go straight to their transports (see `AtlasClient._exchange`), so the choice
    httpx's client made for each is made here, once."""
    found = getproxies() if proxies is None else proxies
    host, port = (url.host or "").lower(), url.port or {"http": 80, "https": 443}.get(url.scheme)
    for entry in (item.strip().lower() for item in found.get("no", "").split(",")):
        if entry == "*":
            return None
        scheme, _, rest = entry.rpartition("://")
        name, colon, wanted_port = rest.partition(":") if rest.count(":") == 1 else (rest.strip("[]"), "", "")
        if not name or (scheme and scheme != url.scheme) or (colon and wanted_port != str(port)):
            continue
        if name.startswith("."):
            if host.endswith(name):
                return None
        elif host == name or host.endswith("." + name):
            return None
    proxy = found.get(url.scheme) or found.get("all")
    if not proxy:
        return None
    return proxy if "://" in proxy else f"http://{proxy}"


def _url(operation: Operation, path_params: Mapping[str, str]) -> str:
    # Quote every value whole: an access-list entry like 10.0.0.0/8 or a team name with a space is one segment.
    return operation.url(**{key: quote(str(value), safe="") for key, value in path_params.items()})


def _text(response: httpx.Response) -> str:
    """The answer of a string-valued operation: the body as sent, or the string a JSON-quoted body holds."""
    text = response.text
    if text.lstrip().startswith('"'):
        try:
            quoted = jsonlib.loads(text)
        except ValueError:
            return text
        if isinstance(quoted, str):
            return quoted
    return text


def _error_body(response: httpx.Response) -> tuple[str | None, str | None]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return None, response.reason_phrase or None
    code = body.get("errorCode")
    detail = body.get("detail") or body.get("reason") or response.reason_phrase
    return (str(code) if code else None), (str(detail) if detail else None)

"""The Atlas package's error tree; every message names the status, errorCode and detail, never a credential.

    AtlasError
    ├── AtlasTransportError     no answer: connection refused or reset, timeout, TLS failure
    ├── AtlasHTTPError          Atlas answered with an error status (.status .error_code .detail .operation_id)
    │   ├── AtlasBadRequest     400, e.g. VALIDATION_ERROR
    │   ├── AtlasAuthError      401 / 403: bad credentials, missing role, IP not on the access list
    │   ├── AtlasNotFound       404, e.g. RESOURCE_NOT_FOUND, USER_NOT_FOUND
    │   ├── AtlasConflict       409, e.g. USER_ALREADY_IN_GROUP, a PENDING or ACTIVE user added again
    │   ├── AtlasRateLimited    429 still answered after the retries (.retry_after when Atlas said)
    │   └── AtlasServerError    5xx still answered after the retries (or on a call that is not safe to repeat)
    │   (other statuses, e.g. 406 unknown version or 410 VERSION_GONE, are plain AtlasHTTPError)
    └── OwnIdentityRefused      the gateway will not change the access of the identity the bot calls Atlas as

None of these leaves the package through a port of the domain: `translated()` turns each into the domain's
GatewayError family (access.errors), keeping the text, and `gateway_error` says which:

    AtlasAuthError -> GatewayUnauthorized        AtlasTransportError, AtlasServerError -> GatewayUnreachable
    AtlasRateLimited -> GatewayRateLimited       other AtlasHTTPError -> GatewayRefused (status, code, detail)
    OwnIdentityRefused -> GatewayRefused (code OWN_IDENTITY), any other AtlasError -> GatewayRefused
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import wraps
from typing import ParamSpec, TypeVar

from access.errors import (
    OWN_IDENTITY,
    GatewayError,
    GatewayRateLimited,
    GatewayRefused,
    GatewayUnauthorized,
    GatewayUnreachable,
)

P = ParamSpec("P")
T = TypeVar("T")


class AtlasError(Exception):
    """Base of every error this package raises on purpose."""


class AtlasTransportError(AtlasError):
    """The request got no HTTP answer (after the retries the call allowed)."""

    def __init__(self, message: str, *, operation_id: str) -> None:
        super().__init__(f"{operation_id}: {message}")
        self.operation_id = operation_id


class AtlasHTTPError(AtlasError):
    """Atlas answered with an error status; `error_code` and `detail` come from its error body."""

    def __init__(self, *, status: int, error_code: str | None, detail: str | None, operation_id: str,
                 retry_after: float | None = None) -> None:
        self.status = status
        self.error_code = error_code
        self.detail = detail
        self.operation_id = operation_id
        self.retry_after = retry_after  # seconds, from a 429's Retry-After
        super().__init__(self._message())

    def _message(self) -> str:
        code = f" {self.error_code}" if self.error_code else ""
        detail = f": {self.detail}" if self.detail else ""
        return f"Atlas {self.operation_id} failed with HTTP {self.status}{code}{detail}"

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(status={self.status}, error_code={self.error_code!r}, "
                f"detail={self.detail!r}, operation_id={self.operation_id!r})")

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only __init__: teach pickle (and concurrent.futures across processes) to rebuild it.
        return (_rebuild, (type(self), self.status, self.error_code, self.detail, self.operation_id,
                           self.retry_after))


class AtlasBadRequest(AtlasHTTPError):
    pass


class AtlasAuthError(AtlasHTTPError):
    pass


class AtlasNotFound(AtlasHTTPError):
    pass


class AtlasConflict(AtlasHTTPError):
    pass


class AtlasRateLimited(AtlasHTTPError):
    pass


class AtlasServerError(AtlasHTTPError):
    pass


class OwnIdentityRefused(AtlasError):
    """A grant or revocation aimed at the bot's own identity (pitfall: never lock ourselves out)."""

    def __init__(self, username: str) -> None:
        super().__init__(f"refusing to change the access of {username}: it is the identity atlas-access calls Atlas as")
        self.username = username


_BY_STATUS: dict[int, type[AtlasHTTPError]] = {
    400: AtlasBadRequest, 401: AtlasAuthError, 403: AtlasAuthError, 404: AtlasNotFound, 409: AtlasConflict,
    429: AtlasRateLimited,
}


def error_for(*, status: int, error_code: str | None, detail: str | None, operation_id: str,
              retry_after: float | None = None) -> AtlasHTTPError:
    """The AtlasHTTPError subclass that fits `status`."""
    cls = AtlasServerError if status >= 500 else _BY_STATUS.get(status, AtlasHTTPError)
    return cls(status=status, error_code=error_code, detail=detail, operation_id=operation_id,
               retry_after=retry_after)


def gateway_error(error: AtlasError) -> GatewayError:
    """The domain's word for `error` (see the module's doc), with the same text: it carries no secret already."""
    message = str(error)
    if isinstance(error, AtlasTransportError):
        return GatewayUnreachable(message, operation=error.operation_id)
    if isinstance(error, OwnIdentityRefused):
        return GatewayRefused(message, code=OWN_IDENTITY)
    if not isinstance(error, AtlasHTTPError):
        return GatewayRefused(message)
    if isinstance(error, AtlasRateLimited):
        return GatewayRateLimited(message, operation=error.operation_id, status=error.status, code=error.error_code,
                                  detail=error.detail, retry_after=error.retry_after)
    kind: type[GatewayError] = GatewayRefused
    if isinstance(error, AtlasAuthError):
        kind = GatewayUnauthorized
    elif isinstance(error, AtlasServerError):  # Atlas cannot serve now: like no answer, worth a later try
        kind = GatewayUnreachable
    return kind(message, operation=error.operation_id, status=error.status, code=error.error_code, detail=error.detail)


@contextmanager
def translated() -> Iterator[None]:
    """Run the block; an AtlasError leaves it as the domain's GatewayError (the original as its cause)."""
    try:
        yield
    except AtlasError as error:
        raise gateway_error(error) from error


def at_the_port(method: Callable[P, T]) -> Callable[P, T]:
    """A method of a domain port: what it raises is the domain's GatewayError, never an AtlasError."""

    @wraps(method)
    def port_method(*args: P.args, **kwargs: P.kwargs) -> T:
        with translated():
            return method(*args, **kwargs)

    return port_method


def scrub(text: str, secrets: Sequence[str]) -> str:
    """`text` with every secret in it masked: Atlas may echo input back in a detail, and we echo the detail."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "**********")
    return text


def _rebuild(cls: type[AtlasHTTPError], status: int, error_code: str | None, detail: str | None,
             operation_id: str, retry_after: float | None = None) -> AtlasHTTPError:
    return cls(status=status, error_code=error_code, detail=detail, operation_id=operation_id,
               retry_after=retry_after)

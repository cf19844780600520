"""The domain's error tree; the bot turns each into words for people in one place (bot/messages.py).

    AccessError
    ├── FieldErrors        input that a form can point at, field by field
    ├── RequestRefused     a request no flow allows, or that cannot be made now (with the reason)
    ├── NotAllowed         the person may not do this (not an approver, own request, not an admin)
    ├── AlreadyDecided     the request moved on before this click
    ├── Replayed           a submission already stored: nothing new is made, and the replay needs no answer
    ├── NotFound           no such request, grant, integration or flow
    └── CredentialsMissing an integration's credentials name an environment variable that is not set

What the adapters raise at the domain's ports (each translates its own errors into these, so neither the domain
nor the bot ever sees an httpx, Atlas-client or SQLAlchemy exception):

    GatewayError           a service behind a port (Atlas) failed; its text is safe to show and to store
    ├── GatewayUnauthorized  it refused our credentials (401/403: bad key, missing role, IP not on the access list)
    ├── GatewayUnreachable   no answer (connection, timeout), or an answer that it cannot serve now (5xx, `status`)
    ├── GatewayRateLimited   it kept pacing us (429) through the client's retries; `retry_after` when it said so
    └── GatewayRefused       it answered no to this call (another 4xx: `status`, `code`, `detail`), or the adapter
                             refused it (changing the bot's own identity: `code` OWN_IDENTITY)
    StoreUnavailable       the database did not answer or could not serve (connection refused or lost, a lock
                           held too long); the unit of work was rolled back, or its commit's outcome is unknown
    SecretKeyError         the store cannot read or write the integrations' literal secrets: its key (the
                           operator's ATLAS_ACCESS_SECRET_KEY) is missing, malformed or not the one they had
    (access.ports.StaleWrite and Duplicate are outcomes of a unit of work, not failures: see there)
"""

from __future__ import annotations


class AccessError(Exception):
    """Base of every error the domain raises on purpose."""


class FieldErrors(AccessError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class RequestRefused(AccessError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotAllowed(AccessError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AlreadyDecided(AccessError):
    def __init__(self, status: str, by: str | None = None) -> None:
        super().__init__(f"already {status}")
        self.status = status
        self.by = by


class Replayed(AccessError):
    def __init__(self, request_id: int | None) -> None:
        super().__init__(f"already submitted as request {request_id}")
        self.request_id = request_id


class NotFound(AccessError):
    pass


class CredentialsMissing(AccessError):
    """An integration's credentials name an environment variable that this process does not have."""


class GatewayError(Exception):
    """A service behind a port failed. `operation` names the call (e.g. Atlas's operation id), `status` the HTTP
    status if there was an answer, `code` the service's error code, `detail` its words (scrubbed of secrets)."""

    def __init__(self, message: str, *, operation: str = "", status: int | None = None, code: str | None = None,
                 detail: str | None = None) -> None:
        super().__init__(message)
        self.operation = operation
        self.status = status
        self.code = code
        self.detail = detail


class GatewayUnauthorized(GatewayError):
    pass


class GatewayUnreachable(GatewayError):
    pass


class GatewayRateLimited(GatewayError):
    def __init__(self, message: str, *, operation: str = "", status: int | None = 429, code: str | None = None,
                 detail: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, operation=operation, status=status, code=code, detail=detail)
        self.retry_after = retry_after


class GatewayRefused(GatewayError):
    pass


OWN_IDENTITY = "OWN_IDENTITY"  # GatewayRefused.code: the adapter will not change the access of the identity it uses


class StoreUnavailable(Exception):
    """The store could not be reached or could not serve now; the next round or click tries again.

    `cause` names the driver's error class (e.g. `OperationalError`), never its message: that quotes SQL, and
    a database URL may carry a password.
    """

    def __init__(self, message: str, *, cause: str = "") -> None:
        super().__init__(message)
        self.cause = cause


class SecretKeyError(Exception):
    """The store's secret key is missing, malformed, or cannot decrypt what is stored (the text says which, for the
    operator; never the key)."""

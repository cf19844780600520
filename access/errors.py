"""The domain's error tree; the bot turns each into words for people in one place (bot/messages.py).

    AccessError
    ├── FieldErrors        input that a form can point at, field by field
    ├── RequestRefused     a request no flow allows, or that cannot be made now (with the reason)
    ├── NotAllowed         the person may not do this (not an approver, own request, not an admin)
    ├── AlreadyDecided     the request moved on before this click
    ├── Replayed           a submission already stored: nothing new is made, and the replay needs no answer
    └── NotFound           no such request, grant, integration or flow
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

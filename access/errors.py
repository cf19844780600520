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

"""Atlas-shaped failures: the exception the sandbox raises inside a request and the error body it becomes.

Where the spec names an errorCode (VALIDATION_ERROR, RESOURCE_NOT_FOUND, RATE_LIMITED, VERSION_GONE, ...) the
sandbox uses it; where the spec is silent (the last-role rule, a role already held) the code below is the
sandbox's own choice, kept in one place so tests and readers can find it.
"""

from __future__ import annotations

import json
import re
from http import HTTPStatus
from typing import Any

# Authentication and authorisation.
NOT_AUTHORIZED = "NOT_AUTHORIZED"  # no, malformed or wrong credentials
USER_UNAUTHORIZED = "USER_UNAUTHORIZED"  # valid credentials, but not for this organization or role
INVALID_CLIENT = "INVALID_CLIENT"  # the token endpoint: unknown client id or wrong secret
TOO_MANY_ACTIVE_TOKENS = "TOO_MANY_ACTIVE_TOKENS"
# Versions and media types.
INVALID_VERSION_DATE = "INVALID_VERSION_DATE"  # what Atlas answers for a missing or unknown Accept version
VERSION_GONE = "VERSION_GONE"
UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
# Requests.
VALIDATION_ERROR = "VALIDATION_ERROR"
INVALID_JSON = "INVALID_JSON"
RESOURCE_NOT_FOUND = "RESOURCE_NOT_FOUND"
METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
DEPRECATED_OPERATION = "DEPRECATED_OPERATION_NOT_SIMULATED"
# Resources.
ORG_NOT_FOUND = "ORG_NOT_FOUND"
GROUP_NOT_FOUND = "GROUP_NOT_FOUND"
USER_NOT_FOUND = "USER_NOT_FOUND"
TEAM_NOT_FOUND = "TEAM_NOT_FOUND"
API_KEY_NOT_FOUND = "API_KEY_NOT_FOUND"
SERVICE_ACCOUNT_NOT_FOUND = "SERVICE_ACCOUNT_NOT_FOUND"
# Membership rules.
ORG_USER_ALREADY_EXISTS = "ORG_USER_ALREADY_EXISTS"
USER_ALREADY_IN_GROUP = "USER_ALREADY_IN_GROUP"
ROLE_ALREADY_ASSIGNED = "ROLE_ALREADY_ASSIGNED"
CANNOT_REMOVE_LAST_ROLE = "CANNOT_REMOVE_LAST_ROLE"
INVALID_ROLE = "INVALID_ROLE"
DUPLICATE_TEAM_NAME = "DUPLICATE_TEAM_NAME"
# Database users.
DATABASE_USER_ALREADY_EXISTS = "USER_ALREADY_EXISTS"
DATABASE_USER_NOT_FOUND = "USERNAME_NOT_FOUND"
INVALID_DELETE_AFTER_DATE = "INVALID_DELETE_AFTER_DATE"
DATABASE_USER_LIMIT = "MAX_DATABASE_USERS_EXCEEDED"
CLUSTER_NOT_FOUND = "CLUSTER_NOT_FOUND"
# Injected faults.
RATE_LIMITED = "RATE_LIMITED"
RATE_LIMITED_TOKEN_BUCKET = "RATE_LIMITED_TOKEN_BUCKET"
UNEXPECTED_ERROR = "UNEXPECTED_ERROR"
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"

_FAULT_CODES = {429: RATE_LIMITED, 401: NOT_AUTHORIZED, 403: USER_UNAUTHORIZED, 503: SERVICE_UNAVAILABLE}


class ApiFailure(Exception):
    """An error answer: raised anywhere while serving a request, turned into `{detail, error, errorCode, ...}`."""

    def __init__(self, status: int, error_code: str, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"HTTP {status} {error_code}: {detail}")
        self.status = status
        self.error_code = error_code
        self.detail = detail
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        return error_body(status=self.status, error_code=self.error_code, detail=self.detail)

    def encoded(self) -> bytes:
        return json.dumps(self.body()).encode()


def error_body(*, status: int, error_code: str, detail: str) -> dict[str, Any]:
    return {"detail": detail, "error": status, "errorCode": error_code, "parameters": [], "reason": reason(status)}


def reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def fault_code(status: int) -> str:
    """The errorCode an injected failure of `status` carries."""
    if status in _FAULT_CODES:
        return _FAULT_CODES[status]
    if status >= 500:
        return UNEXPECTED_ERROR
    return VALIDATION_ERROR if status == 400 else re.sub(r"[^A-Z]+", "_", reason(status).upper()).strip("_")


def bad_request(detail: str, code: str = VALIDATION_ERROR) -> ApiFailure:
    return ApiFailure(400, code, detail)


def not_found(detail: str, code: str = RESOURCE_NOT_FOUND) -> ApiFailure:
    return ApiFailure(404, code, detail)


def conflict(detail: str, code: str) -> ApiFailure:
    return ApiFailure(409, code, detail)

"""Version negotiation as Atlas does it: the Accept version must be one the operation lists; sunset ones are gone."""

from __future__ import annotations

import re
from datetime import date

from atlas.operations import Operation
from atlas.sandbox.errors import INVALID_VERSION_DATE, UNSUPPORTED_MEDIA_TYPE, VERSION_GONE, ApiFailure

# Older versions the spec still lists for our operations, with their sunset dates (../shared/atlas/endpoints.txt).
OLDER_VERSIONS: dict[str, dict[str, str]] = {
    "listGroupClusters": {"2023-01-01": "2027-07-01", "2023-02-01": "2027-07-01"},
    "getGroupCluster": {"2023-01-01": "2027-07-01", "2023-02-01": "2027-07-01"},
    "listOrgUsers": {"2023-01-01": "2027-07-01"},
    "listGroupUsers": {"2023-01-01": "2027-07-01"},
    "listOrgTeamUsers": {"2023-01-01": "2027-07-01"},
    "removeOrgUser": {"2023-01-01": "2027-07-01"},
    "removeGroupUser": {"2023-01-01": "2027-07-01"},
    "listRateLimits": {"preview": "2026-04-21"},
    "getRateLimit": {"preview": "2026-04-21"},
}
# Older versions whose answer is the same as the newest (no body, or the same schema): served until sunset.
# The others answer with other schemas (PaginatedAppUserView, ...) the sandbox does not simulate: 406, said so.
_SAME_SHAPE = frozenset({"removeOrgUser", "removeGroupUser", "listRateLimits", "getRateLimit"})
_ATLAS_MEDIA = re.compile(r"^application/vnd\.atlas\.(\d{4}-\d{2}-\d{2}|preview)\+json$", re.IGNORECASE)


def requested_version(header: str | None) -> str | None:
    """The version in an Accept (or Content-Type) header, or None if no Atlas media type is there."""
    for item in (header or "").split(","):
        found = _ATLAS_MEDIA.match(item.split(";", 1)[0].strip())
        if found:
            return found.group(1).lower()
    return None


def negotiate(operation: Operation, *, accept: str | None, today: date) -> str:
    """The version the answer is served in; 406 for a missing or unlisted version, 410 past its sunset."""
    version = requested_version(accept)
    listed = _listed(operation)
    if version is None:
        raise ApiFailure(406, INVALID_VERSION_DATE, f"Invalid accept header or version date. {operation.operation_id}"
                         f" takes Accept: application/vnd.atlas.<version>+json with a version in {listed}.")
    if version == operation.version:
        return version
    sunset = OLDER_VERSIONS.get(operation.operation_id, {}).get(version)
    if sunset is None:
        raise ApiFailure(406, INVALID_VERSION_DATE, f"Invalid accept header or version date: {version} is not a "
                         f"version of {operation.operation_id}; it takes {listed}.")
    if today >= date.fromisoformat(sunset):
        raise ApiFailure(410, VERSION_GONE, f"Version {version} of {operation.operation_id} was sunset on {sunset};"
                         f" use {operation.version}.")
    if operation.operation_id in _SAME_SHAPE:
        return version
    raise ApiFailure(406, INVALID_VERSION_DATE, f"Version {version} of {operation.operation_id} (deprecated, sunset "
                     f"{sunset}) is not simulated by the sandbox; send {operation.version}.")


def check_content_type(header: str | None, *, version: str) -> None:
    """A request body must be sent as the same versioned media type the answer is asked for."""
    sent = requested_version(header)
    if sent != version:
        shown = header or "no Content-Type"
        raise ApiFailure(415, UNSUPPORTED_MEDIA_TYPE, f"Unsupported media type {shown}; send the body as "
                         f"application/vnd.atlas.{version}+json (the Accept version).")


def _listed(operation: Operation) -> str:
    older = OLDER_VERSIONS.get(operation.operation_id, {})
    return ", ".join([*(f"{v} (sunset {s})" for v, s in older.items()), operation.version])

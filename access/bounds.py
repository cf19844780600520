"""The limits every configured value stays within, and the pydantic validators that hold them.

Each limit is checked where a value comes in (`config apply`, the `/atlas-admin` modals, anything that calls
`model_validate`) and refused with one sentence that says what is allowed. A spec read back from the database
is validated with the `STORED` context instead: a limit added after a value was stored is not applied to it
again, so an integration configured before a release keeps working (its grants are still revoked, its timers
still run) until someone saves it again, when the limit applies.

Durations are written `30m`, `8h`, `1d`, `1h30m` (a bare number is minutes), from `SHORTEST_DURATION` to
`LONGEST_DURATION`; a number with too many digits is a refusal, never an OverflowError.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sized
from datetime import timedelta
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BeforeValidator, SecretStr, ValidationInfo

SHORTEST_DURATION = timedelta(minutes=1)
LONGEST_DURATION = timedelta(days=365)
ROTATION_DAYS = (1, 365)  # credential_rotation_days
MAX_PRINCIPAL = 254  # an email address is at most 254 characters (RFC 5321)
MAX_PRINCIPALS = 100  # integration_owners, requesters
MAX_ROLE = 128
MAX_ROLES = 50  # a flow's roles, an integration's extra_project_roles
MAX_PATTERN = 255  # a resource name pattern; Atlas project and cluster names are shorter
MAX_PATTERNS = 100
MAX_TAG = 255  # Atlas allows 255 characters in a tag key or value
MAX_TAGS = 50
MAX_CREDENTIAL_ID = 200  # a public key or client id, as in the admin modal
MAX_SECRET = 500  # a private key or client secret, as in the admin modal
MAX_ENV_NAME = 255
MAX_SLACK_ID = 32
MAX_INTEGRATIONS = 200  # in one config file
MAX_FLOWS = 2000

STORED: dict[str, Any] = {"stored": True}  # the validation context for specs read back from the database
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")
_LONGEST_TEXT = 24  # `365d` needs 4; anything longer than this is not a duration
T = TypeVar("T")
S = TypeVar("S", bound=Sized)


def enforced(info: ValidationInfo) -> bool:
    """False while validating a spec read back from storage (see `STORED`)."""
    return not (isinstance(info.context, dict) and info.context.get("stored"))


def shown(text: str, limit: int = 24) -> str:
    """What a person typed, quoted in an error without echoing pages of it."""
    return text if len(text) <= limit else text[:limit] + "…"


def parse_duration(text: str, *, longest: timedelta = LONGEST_DURATION) -> timedelta:
    """`8h`, `30m`, `1d`, `1h30m` (also `90` minutes as a bare number) as a timedelta, from 1 minute to `longest`.

    Anything else, longer or shorter, is a ValueError whose message says what is allowed.
    """
    cleaned = text.strip().lower().replace(" ", "")
    match = _DURATION.match(cleaned) if len(cleaned) <= _LONGEST_TEXT else None
    if not cleaned or (match is None and not cleaned.isdecimal()) or len(cleaned) > _LONGEST_TEXT:
        raise ValueError(f"'{shown(text.strip())}' is not a duration like 30m, 8h, 1d or 1h30m")
    if match is None:
        minutes = int(cleaned)
    else:
        days, hours, mins = (int(part) if part else 0 for part in match.groups())
        minutes = days * 1440 + hours * 60 + mins  # whole numbers: no overflow before the check below
    if minutes * 60 > longest.total_seconds():
        raise ValueError(f"'{shown(text.strip())}' is longer than {format_duration(longest)}, the longest allowed")
    if minutes < SHORTEST_DURATION.total_seconds() // 60:
        raise ValueError("a duration must be at least 1 minute")
    return timedelta(minutes=minutes)


def format_duration(value: timedelta) -> str:
    """The inverse of parse_duration, for config show and messages: `1d2h`, `8h`, `45m`."""
    minutes = int(value.total_seconds() // 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    text = (f"{days}d" if days else "") + (f"{hours}h" if hours else "") + (f"{mins}m" if mins else "")
    return text or "0m"


def _duration_in(value: object, info: ValidationInfo) -> object:
    """A duration as written (`8h`) becomes a timedelta; ISO 8601 (`PT8H`, as stored) is left to pydantic."""
    if isinstance(value, bool | int | float):
        raise ValueError("write a duration like 30m, 8h, 1d or 1h30m (a bare number has no unit)")
    if isinstance(value, str):
        if re.match(r"^\s*[+-]?p", value, re.IGNORECASE) and len(value) <= 64:
            return value
        return parse_duration(value, longest=LONGEST_DURATION if enforced(info) else timedelta.max)
    return value


def _duration_range(value: timedelta, info: ValidationInfo) -> timedelta:
    if value < SHORTEST_DURATION and (enforced(info) or value <= timedelta(0)):
        raise ValueError("must be at least 1 minute")
    if value > LONGEST_DURATION and enforced(info):
        raise ValueError(f"must be at most {format_duration(LONGEST_DURATION)}")
    return value


# A configured duration: `8h` or a timedelta, from 1 minute to 365 days.
Duration = Annotated[timedelta, BeforeValidator(_duration_in), AfterValidator(_duration_range)]


def at_most(limit: int, unit: str) -> AfterValidator:
    """A length limit (characters, entries) enforced on input and not re-applied to stored specs."""

    def check(value: S, info: ValidationInfo) -> S:
        if enforced(info) and len(value) > limit:
            raise ValueError(f"has {len(value)} {unit}; at most {limit} are allowed")
        return value

    return AfterValidator(check)


def first_at_most(limit: int) -> BeforeValidator:
    """Refuse a text longer than `limit` before any pattern runs over it (a long input costs no regex time)."""

    def check(value: object, info: ValidationInfo) -> object:
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(text, str) and len(text) > limit and enforced(info):
            raise ValueError(f"has {len(text)} characters; at most {limit} are allowed")
        return value

    return BeforeValidator(check)


def whole_number_in(low: int, high: int, what: str) -> Callable[[object, ValidationInfo], object]:
    """A before-validator for a whole number from `low` to `high` (the upper limit not re-applied when stored)."""

    def check(value: object, info: ValidationInfo) -> object:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < low or (value > high and enforced(info)):
            raise ValueError(f"must be a whole number of {what} from {low} to {high}")
        return value

    return check

"""Typed settings, read once at start-up from the environment (names as in the operator contract)."""

from __future__ import annotations

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

DAY_SECONDS = 86_400
DAY_MINUTES = 1_440
OFF = "0 turns it off"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True, allow_inf_nan=False)

    slack_bot_token: SecretStr = SecretStr("")
    slack_signing_secret: SecretStr = SecretStr("")
    slack_app_token: SecretStr | None = None  # Socket Mode
    slack_api_url: str = "https://slack.com/api/"
    atlas_base_url: str = "https://cloud.mongodb.com"
    pagerduty_api_url: str = "https://api.pagerduty.com"  # EU service region: https://api.eu.pagerduty.com
    database_url: str = "sqlite:///./atlas-access.db"
    atlas_access_secret_key: SecretStr | None = None
    atlas_access_admins: str = ""  # comma separated: Slack user ids, user group ids or @handles

    # Every number is bounded: a typo (`LEASE_SECONDS=-1`, `ATLAS_MAX_CONCURRENCY=100000`) stops the command
    # at start with one sentence naming the variable and its range (see `settings_errors`).
    listener_threads: int = Field(default=32, ge=1, le=512)
    server_threads: int = Field(default=32, ge=1, le=512)
    sweep_interval_seconds: float = Field(default=5.0, gt=0, le=DAY_SECONDS)
    lease_seconds: float = Field(default=60.0, ge=1, le=3600)
    sync_interval_minutes: float = Field(default=60.0, ge=0, le=DAY_MINUTES, description=OFF)
    sync_progress_seconds: float = Field(default=1.5, ge=0, le=60)  # between updates of a /atlas-sync message
    rotation_check_minutes: float = Field(default=60.0, gt=0, le=DAY_MINUTES)
    invitation_poll_seconds: float = Field(default=60.0, gt=0, le=DAY_SECONDS)
    atlas_max_concurrency: int = Field(default=8, ge=1, le=64)
    log_json: bool = False
    reconcile_interval_minutes: float = Field(default=60.0, ge=0, le=DAY_MINUTES, description=OFF)
    # Deprecated: comma separated integration names whose unmanaged roles are removed even if the integration's
    # own `remove_unmanaged_roles` is off (kept so existing deployments do not silently stop removing them).
    reconcile_remove_unmanaged: str = ""
    overdue_grace_seconds: float = Field(default=120.0, gt=0, le=DAY_SECONDS)  # a revocation this late is overdue
    home_refresh_seconds: float = Field(default=1.0, ge=0, le=3600)  # a person's App Home, at most this often
    home_publish_per_minute: float = Field(default=100.0, gt=0, le=10_000)  # App Homes a minute, after 50 at once
    # The requester's DM this long before a grant ends.
    expiry_reminder_minutes: float = Field(default=15.0, ge=0, le=DAY_MINUTES, description=OFF)
    http_connection_limit: int = Field(default=2000, ge=100, le=20_000)  # open HTTP connections (bot/slack/front.py)
    http_idle_timeout_seconds: int = Field(default=5, ge=1, le=600)  # a connection silent this long is closed
    max_pending_per_person: int = Field(default=10, ge=1, le=100)  # requests one person may have waiting at once

    @property
    def admins(self) -> tuple[str, ...]:
        return tuple(part.strip() for part in self.atlas_access_admins.split(",") if part.strip())


def settings_errors(error: ValidationError) -> list[str]:
    """One sentence per bad variable: its name and what it may be, never the value given (it may be a secret)."""
    lines: dict[str, str] = {}
    for item in error.errors(include_input=False, include_url=False, include_context=False):
        name = str(item["loc"][0]) if item["loc"] else ""
        if name in Settings.model_fields:
            lines.setdefault(name, f"{name.upper()} must be {_allowed(name)}")
        else:
            lines.setdefault(name, f"the settings are not valid: {item['msg']}")
    return list(lines.values())


_KINDS: dict[object, str] = {int: "a whole number", float: "a number", bool: "true or false"}


def _allowed(name: str) -> str:
    """`a number of seconds from 1 to 3600`, from the field's type, name and bounds."""
    field = Settings.model_fields[name]
    unit = next((f" of {u}" for u in ("seconds", "minutes", "threads") if name.endswith(u)), "")
    bounds = {kind: getattr(m, kind) for m in field.metadata for kind in ("ge", "gt", "le") if hasattr(m, kind)}
    text = _KINDS.get(field.annotation, "text") + unit
    if "ge" in bounds and "le" in bounds:
        text += f" from {bounds['ge']:g} to {bounds['le']:g}"
    elif "gt" in bounds and "le" in bounds:
        text += f" greater than {bounds['gt']:g} and at most {bounds['le']:g}"
    return text + (f" ({field.description})" if field.description else "")

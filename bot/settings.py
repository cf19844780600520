"""Typed settings, read once at start-up from the environment (names as in the operator contract)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    slack_bot_token: SecretStr = SecretStr("")
    slack_signing_secret: SecretStr = SecretStr("")
    slack_app_token: SecretStr | None = None  # Socket Mode
    slack_api_url: str = "https://slack.com/api/"
    atlas_base_url: str = "https://cloud.mongodb.com"
    database_url: str = "sqlite:///./atlas-access.db"
    atlas_access_secret_key: SecretStr | None = None
    atlas_access_admins: str = ""  # comma separated: Slack user ids, user group ids or @handles

    listener_threads: int = Field(default=32, ge=1, le=512)
    server_threads: int = Field(default=32, ge=1, le=512)
    sweep_interval_seconds: float = Field(default=5.0, gt=0)
    lease_seconds: float = Field(default=60.0, gt=0)
    sync_interval_minutes: float = Field(default=60.0, ge=0)  # 0: no scheduled sync
    sync_progress_seconds: float = Field(default=1.5, ge=0)  # between updates of a /atlas-sync message
    rotation_check_minutes: float = Field(default=60.0, gt=0)
    invitation_poll_seconds: float = Field(default=60.0, gt=0)
    atlas_max_concurrency: int = Field(default=8, ge=1, le=64)
    log_json: bool = False
    reconcile_interval_minutes: float = Field(default=60.0, ge=0)  # 0: no scheduled reconciliation
    # Deprecated: comma separated integration names whose unmanaged roles are removed even if the integration's
    # own `remove_unmanaged_roles` is off (kept so existing deployments do not silently stop removing them).
    reconcile_remove_unmanaged: str = ""
    overdue_grace_seconds: float = Field(default=120.0, gt=0)  # a revocation this late counts as overdue
    home_refresh_seconds: float = Field(default=1.0, ge=0)  # a person's App Home is republished at most this often
    home_publish_per_minute: float = Field(default=100.0, gt=0)  # App Homes refreshed a minute after a burst of 50
    expiry_reminder_minutes: float = Field(default=15.0, ge=0)  # DM this long before a grant ends; 0: none
    max_pending_per_person: int = Field(default=10, ge=1, le=100)  # requests one person may have waiting at once

    @property
    def admins(self) -> tuple[str, ...]:
        return tuple(part.strip() for part in self.atlas_access_admins.split(",") if part.strip())

"""Administration in Slack: /atlas-admin (integrations and access flows in modals) and /atlas-sync with progress."""

from bot.slack.admin.auth import is_admin
from bot.slack.admin.listeners import register_admin

__all__ = ["is_admin", "register_admin"]

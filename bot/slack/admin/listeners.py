"""`register_admin(app, admin=...)`: the admin commands, buttons and modals wired into a Bolt app.

The composition root builds the shared `Admin` (bot.slack.admin.context) from the use cases and Slack's
directory; its work after each ack runs on the app's `AfterAck` pool, paced by the same AckGate as the request
flow's.
"""

from __future__ import annotations

from slack_bolt import App

from bot.slack.admin import ids
from bot.slack.admin.commands import AdminCommands
from bot.slack.admin.context import Admin
from bot.slack.admin.form_listeners import FormListeners
from bot.slack.admin.grants import GrantsList
from bot.slack.admin.home_actions import HomeActions


def register_admin(app: App, *, admin: Admin, lists: GrantsList) -> None:
    """Wire /atlas-admin, /atlas-sync and the admin modals into `app`. A sync's message is updated at most every
    SYNC_PROGRESS_SECONDS (chat.update is tier 3)."""
    commands = AdminCommands(admin, lists)
    app.command(ids.ADMIN_COMMAND)(commands.admin)
    app.command(ids.SYNC_COMMAND)(commands.sync)
    app.action(ids.GRANTS_PAGE)(lists.page)
    for action_id, listener in HomeActions(admin).handlers().items():
        app.action(action_id)(listener)
    forms = FormListeners(admin)
    app.action(ids.TEST_CONNECTION)(forms.test_connection)
    app.view(ids.INTEGRATION)(forms.submit_integration)
    app.view(ids.FLOW)(forms.submit_flow)

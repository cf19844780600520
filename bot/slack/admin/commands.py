"""The slash commands: `/atlas-admin` opens the admin home modal, `/atlas-sync [integration]` syncs with progress.

Both ack at once. `/atlas-admin` opens a modal straight away with its trigger (good for 3 s) and fills it
after; `/atlas-sync` and `/atlas-admin <word>` (help, audit)
do everything after their ack.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from bot.slack import mrkdwn
from bot.slack import payloads as p
from bot.slack.admin import ids
from bot.slack.admin.context import Admin
from bot.slack.admin.grants import GrantsList
from bot.slack.admin.home_view import loading_modal
from bot.slack.replies import team_of
from bot.slack.views import notice_modal

HELP = (
    "*atlas-access administration* (for the admins named in ATLAS_ACCESS_ADMINS)\n"
    "• `/atlas-admin` — integrations (health, add, edit, test, sync, rotate, disable) and access flows (add, "
    "edit, disable).\n"
    "• `/atlas-admin audit` — the audit trail as a file, in a DM.\n"
    "• `/atlas-admin grants [integration:NAME] [resource:NAME] [person:@someone]` — every live grant, with "
    "Revoke now.\n"
    "• `/atlas-sync [integration]` — refresh the inventory from Atlas now, with progress and an owner-tag check.\n"
    "• `/atlas-admin help` — this text."
)


class AdminCommands:
    def __init__(self, admin: Admin, lists: GrantsList) -> None:
        self._admin = admin
        self._lists = lists

    def admin(self, ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond,
              context: BoltContext) -> None:
        ack()
        team = team_of(context)
        word, _, rest = str(body.get("text") or "").strip().partition(" ")
        if word.lower() in ("", "home"):
            self._admin.later.urgent(lambda: self._open(body, client, respond, team))
        elif word.lower() == "grants":  # a modal: opened with the trigger at once, the guard asked inside
            self._admin.later.urgent(lambda: self._lists.open(body, client, team, rest.strip()))
        else:
            self._admin.later(lambda: self._subcommand(word.lower(), rest.strip(), body, respond, team))

    def _subcommand(self, word: str, rest: str, body: dict[str, Any], respond: Respond, team: str | None) -> None:
        if (refusal := self._admin.refusal(body, team, f"{ids.ADMIN_COMMAND} {word[:30]}")) is not None:
            respond(text=refusal, response_type="ephemeral")
            return
        if word == "audit":  # the audit trail as a file in a DM (bot.slack.audit_dm)
            respond(text=self._admin.audit(p.user_of(body), rest), response_type="ephemeral")
            return
        prefix = "" if word == "help" else f"I don't know {mrkdwn.code(word[:30])}.\n"
        respond(text=prefix + HELP, response_type="ephemeral")

    def _open(self, body: dict[str, Any], client: WebClient, respond: Respond, team: str | None) -> None:
        opened = client.views_open(trigger_id=body["trigger_id"], view=loading_modal())
        view_id = str(opened["view"]["id"])
        refusal = self._admin.refusal(body, team, ids.ADMIN_COMMAND)
        if refusal is not None:
            self._admin.update_view(client, view_id, notice_modal(refusal))
            respond(text=refusal, response_type="ephemeral")
            return
        self._admin.later(lambda: self._admin.show_home(client, view_id, recheck=True))

    def sync(self, ack: Ack, body: dict[str, Any], respond: Respond, context: BoltContext) -> None:
        ack()
        team = team_of(context)
        self._admin.later(lambda: self._sync(body, respond, team))

    def _sync(self, body: dict[str, Any], respond: Respond, team: str | None) -> None:
        refusal = self._admin.refusal(body, team, ids.SYNC_COMMAND)
        if refusal is not None:
            respond(text=refusal, response_type="ephemeral")
            return
        runner = self._admin.runner
        names, problem = runner.resolve(str(body.get("text") or ""))
        if problem is not None:
            respond(text=problem, response_type="ephemeral")
            return
        claim = runner.claim(names)
        if claim.busy:
            respond(text=claim.busy_words(), response_type="ephemeral")
        if claim.names:
            runner.run(claim, user_id=p.user_of(body), channel=str(body.get("channel_id") or "") or None)

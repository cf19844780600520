"""`/atlas-admin audit [--since 30d] [--integration NAME] [--format csv|json]`: the audit export, as a file in a DM.

The file is the one `atlas-access audit export` prints (see access.audit_export for its columns), uploaded
with Slack's current file API (files.getUploadURLExternal, then the upload, then files.completeUploadExternal)
into the admin's DM with the bot. /atlas-admin runs it as its `audit` subcommand (bot.slack.admin), after
checking that the person is an admin, as it does for every use.
"""

from __future__ import annotations

import logging
from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from access.audit_export import DEFAULT_SINCE, AuditQuery, describe, export_audit, parse_format, parse_since
from access.errors import FieldErrors
from access.ports import Clock, Store
from bot.slack import mrkdwn

log = logging.getLogger(__name__)
WORD = "audit"
USAGE = ("Usage: `/atlas-admin audit [--since 30d|12h|2026-11-01|all] [--integration NAME] [--format csv|json]` "
         f"(defaults: --since {DEFAULT_SINCE}, every integration, CSV).")
_OPTIONS = {"since", "integration", "format"}


def parse_audit_text(text: str, *, now: datetime) -> AuditQuery:
    """The options after `audit` (`--since 7d`, `--since=7d` or `since=7d`); FieldErrors for anything else."""
    words = text.split()
    if words and words[0].lower() == WORD:
        words = words[1:]
    given: dict[str, str] = {}
    while words:
        word = words.pop(0)
        name, equals, value = word.lstrip("-").partition("=")
        if name.lower() not in _OPTIONS or (not equals and not words):
            raise FieldErrors({"audit": f"I don't understand `{word[:40]}`. {USAGE}"})
        given[name.lower()] = value if equals else words.pop(0)
    return AuditQuery(since=parse_since(given.get("since", DEFAULT_SINCE), now=now),
                      integration=given.get("integration"), format=parse_format(given.get("format", "csv")))


def send_audit_export(*, store: Store, clock: Clock, client: WebClient, user_id: str, text: str) -> str:
    """Export the audit trail for `user_id` (an admin: the caller checked) into their DM; the words to answer with."""
    try:
        query = parse_audit_text(text, now=clock.now())
    except FieldErrors as errors:
        return mrkdwn.text(" ".join(errors.errors.values()))
    export = export_audit(store=store, clock=clock, query=query, actor=user_id)
    slack = client
    try:
        channel = str(slack.conversations_open(users=user_id)["channel"]["id"])
        slack.files_upload_v2(channel=channel, filename=export.filename, content=export.content,
                              title=export.filename, initial_comment=f"Audit export: {mrkdwn.text(describe(export))}.")
    except SlackApiError as error:
        log.warning("sending the audit export failed: %s", error.response.get("error"))
        return "I could not send the audit export to your DMs; please try again, or use `atlas-access audit export`."
    return f"I've sent you {mrkdwn.text(describe(export))} in a DM."

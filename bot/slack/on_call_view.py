"""What people read about on-call auto-approval: a line in the request modal, the loud notice on the approval
message of a request approved because its requester is on call, and the note on one that waits because they are
not (or because the provider could not say).

Rendered from the request's stored `on_call` note (access.model.OnCallNote), like the rest of the message.
Schedule names come from PagerDuty and are escaped as any text from outside.
"""

from __future__ import annotations

from datetime import timedelta

from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, MarkdownTextObject, SectionBlock

from access.config import format_duration
from access.entities import AccessRequest
from access.model import OnCallNote, OnCallOutcome
from access.on_call import provider_name
from bot.slack import messages as words
from bot.slack import mrkdwn
from bot.slack.mrkdwn import SECTION_TEXT, clip


def schedule_words(note: OnCallNote) -> str:
    """`*Primary* (PABC123)`, or the schedules the flow names when the person is on call in none."""
    if note.schedule_id:
        return f"*{mrkdwn.line(note.schedule_name or note.schedule_id)}* ({mrkdwn.line(note.schedule_id)})"
    return ", ".join(mrkdwn.line(s) for s in note.schedules[:20])


def shift_words(note: OnCallNote) -> str:
    start = f"from {words.when(note.shift_start)} " if note.shift_start else ""
    end = f"until {words.when(note.shift_end)}" if note.shift_end else "with no end (a permanent on-call)"
    return start + end


def modal_line(note: OnCallNote | None, limit: timedelta | None) -> str | None:
    """The request modal's word on on-call approval, for a requester who opened it on a resource with such a flow."""
    if note is None:
        return None
    name = provider_name(note.provider)
    if note.outcome is OnCallOutcome.ON_CALL:
        most = f" for up to {format_duration(limit)}" if limit else ""
        return (f":pager: You are on call in {schedule_words(note)} {shift_words(note)}: a request for these roles "
                f"is approved at once{most}, and announced to the owners, who may revoke it.")
    if note.outcome is OnCallOutcome.UNAVAILABLE:
        return (f":warning: {mrkdwn.line(note.problem or name + ' could not be reached')}, so on-call approval "
                f"is off for now: this request goes to its approvers.")
    return (f":pager: Whoever is on call in {schedule_words(note)} ({name}) is approved at once; you are not on "
            "call now, so this request goes to its approvers.")


def message_blocks(request: AccessRequest, owners: str) -> list[Block]:
    """The approval message's on-call part: loud when it approved the request, a quiet line otherwise."""
    note = request.on_call
    if note is None:
        return []
    name = provider_name(note.provider)
    if note.outcome is OnCallOutcome.ON_CALL:
        said = (f"{words.mention(request.requester_id)} is on call in {schedule_words(note)} ({name}), shift "
                f"{shift_words(note)}, so this was approved at once for "
                f"{words.duration_words(request.duration_seconds)}, without waiting for an approver.")
        if request.outcome_note:
            said += f" {mrkdwn.line(request.outcome_note)}"
        return [HeaderBlock(text=":pager: On-call access, approved at once"),
                SectionBlock(text=MarkdownTextObject(text=clip(said, SECTION_TEXT))),
                ContextBlock(elements=[MarkdownTextObject(text=clip(
                    f"Owners ({owners}): it is an ordinary grant, recorded as auto_approved_on_call; you may end it "
                    "early like any other.", SECTION_TEXT))])]
    if note.outcome is OnCallOutcome.UNAVAILABLE:
        text = (f":warning: {mrkdwn.line(note.problem or name + ' could not be reached')} when this was asked, so "
                "on-call approval did not apply: it waits for its approvers.")
    else:
        text = f":pager: Not on call in {schedule_words(note)} ({name}) when asked: it waits for its approvers."
    return [ContextBlock(elements=[MarkdownTextObject(text=clip(text, SECTION_TEXT))])]


def summary(request: AccessRequest, owners: str) -> str | None:
    """The notification text of an on-call approval: it names the owners, so they are told at once."""
    note = request.on_call
    if note is None or not note.approved:
        return None
    return (f":pager: ON CALL: {words.mention(request.requester_id)} (on call in "
            f"{mrkdwn.line(note.schedule_name or note.schedule_id or '?')}) got {words.roles_words(request.roles)} "
            f"on {words.resource_words(request)} for {words.duration_words(request.duration_seconds)} at once. "
            f"{owners}: you may revoke it.")

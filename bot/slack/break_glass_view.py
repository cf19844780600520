"""The break-glass announcement: the loud message in the approval channel, with its "Reviewed" button.

It replaces the usual approval message for a break-glass request (views.approval_message hands it over) and is
rendered from the stored request and grant like it; the button carries the request id and nothing else (its
click is taken by bot.slack.break_glass).
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from access.entities import AccessRequest, Grant
from bot.slack import messages as words
from bot.slack import mrkdwn
from bot.slack.ids import REVIEW
from bot.slack.mrkdwn import SECTION_TEXT, clip
from bot.slack.revoke_view import revoke_actions

# --- the message ----------------------------------------------------------------------------------------------


def break_glass_message(request: AccessRequest, grant: Grant | None, *, group_mention: str | None) -> dict[str, Any]:
    """`text` and `blocks` of the loud announcement; the `text` mentions the reviewers so they are notified."""
    reviewers = _reviewers(request, group_mention)
    took = (f"{words.mention(request.requester_id)} took {words.roles_words(request.roles)} on "
            f"{words.resource_words(request)} for {words.duration_words(request.duration_seconds)} "
            "through break-glass, without approval.")
    blocks: list[Block] = [
        HeaderBlock(text=":rotating_light: Break-glass access"),
        SectionBlock(text=MarkdownTextObject(text=clip(took, SECTION_TEXT))),
        SectionBlock(text=MarkdownTextObject(text=clip(
            "*Justification*\n" + mrkdwn.quote(request.justification or "(none given)"), SECTION_TEXT))),
    ]
    blocks += _review_blocks(request, reviewers)
    if grant is not None:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=f"*Access:* {words.grant_words(grant)}")))
    blocks += revoke_actions(grant)
    blocks.append(ContextBlock(elements=[MarkdownTextObject(
        text=f"Request #{request.id} · {mrkdwn.line(request.integration)} · flow {mrkdwn.line(request.flow)} · "
             f"taken {words.when(request.created_at)}")]))  # fmt: skip
    state = "reviewed" if request.reviewed_by else f"{reviewers}: please review"
    text = f":rotating_light: BREAK-GLASS: {took} ({state})"
    return {"text": clip(text, 3000), "blocks": [b.to_dict() for b in blocks]}


def _review_blocks(request: AccessRequest, reviewers: str) -> list[Block]:
    if request.reviewed_by:
        by, at = words.mention(request.reviewed_by), words.when(request.reviewed_at)
        return [SectionBlock(text=MarkdownTextObject(text=f":white_check_mark: Reviewed by {by} at {at}."))]
    ask = (f"{reviewers}: this access was granted without asking you. Please review it after the fact "
           "and click *Reviewed* once you have.")
    return [
        SectionBlock(text=MarkdownTextObject(text=clip(ask, SECTION_TEXT))),
        ActionsBlock(block_id=f"review-{request.id}", elements=[
            ButtonElement(text="Reviewed", action_id=REVIEW, value=str(request.id), style="primary")]),
    ]


def _reviewers(request: AccessRequest, group_mention: str | None) -> str:
    if request.approver_group:
        return group_mention or f"@{mrkdwn.line(request.approver_group)}"
    if request.approvers:
        return ", ".join(words.mention(u) for u in request.approvers[:30])
    return "Nobody is set to review it (ask an admin to set the owners)"

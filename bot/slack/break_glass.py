"""Break-glass in Slack: the loud message in the approval channel and its "Reviewed" button for the owners.

The message replaces the usual approval message for a break-glass request (views.approval_message hands it
over) and is rendered from the stored request and grant like it. Whoever clicks "Reviewed" is authorised by
the service at click time, against the resource's owners resolved again then (and stored on the request, so
the message names them); the button carries the request id and nothing else.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
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
from access.errors import AccessError
from bot.slack import messages as words
from bot.slack import mrkdwn
from bot.slack import payloads as p
from bot.slack.listeners import _ephemeral, _our_team, _retrying
from bot.slack.pacing import AfterAck
from bot.slack.views import SECTION_TEXT, clip

REVIEW = "break_glass_review"


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


# --- the button -----------------------------------------------------------------------------------------------


def register(app: App, *, runtime: Any, after_ack: AfterAck) -> None:
    app.action(REVIEW)(ReviewListener(runtime, after_ack).review)


class ReviewListener:
    def __init__(self, runtime: Any, after_ack: AfterAck) -> None:
        self._service = runtime.service
        self._later = after_ack

    def review(self, ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        ack()
        our_team = _our_team(context)
        self._later(lambda: self._review(body, client, our_team))

    def _review(self, body: dict[str, Any], client: WebClient, our_team: str | None) -> None:
        user_id, request_id = p.user_of(body), p.request_id_of(body)
        text = None
        if p.is_foreign(body, our_team) or request_id is None:
            text = words.FOREIGN_TEAM if request_id else words.TRY_AGAIN
        else:
            try:
                _retrying(lambda: self._service.review(request_id=request_id, user_id=user_id))
            except AccessError as error:
                text = words.error_text(error)
        if text is not None:
            _ephemeral(client, channel=p.clicked_in(body), user_id=user_id, text=text)

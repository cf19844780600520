"""Block Kit of Revoke now: the Revoke button (approval message, App Homes, the admin list), its reason modal, and
one live grant as a line of a list.

The button and the modal carry only the grant id (and, from the admin list, which page to show again after):
who may revoke is decided from stored state at the click and again at the submission.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, ButtonElement, InputBlock, PlainTextInputElement, SectionBlock
from slack_sdk.models.blocks.basic_components import MarkdownTextObject
from slack_sdk.models.views import View

from access.entities import Grant
from access.model import GrantStatus
from access.revocation import LiveGrant
from access.text import MAX_REASON
from bot.slack import messages as words
from bot.slack import mrkdwn
from bot.slack.ids import REVOKE, REVOKE_CALLBACK
from bot.slack.mrkdwn import SECTION_TEXT, clip

REASON = "revoke_reason"
REVOCABLE = (GrantStatus.ACTIVE, GrantStatus.INVITED)


def revoke_button(grant: Grant) -> ButtonElement:
    return ButtonElement(text="Revoke now", action_id=REVOKE, value=str(grant.id), style="danger")


def revoke_actions(grant: Grant | None) -> list[ActionsBlock]:
    """The approval message's Revoke button, while its grant is live in Atlas."""
    if grant is None or grant.status not in REVOCABLE:
        return []
    return [ActionsBlock(block_id=f"revoke-{grant.id}", elements=[revoke_button(grant)])]


def revoke_modal(grant: Grant, *, back: str = "") -> dict[str, Any]:
    """Asks the reason; `back` is the admin list's page to show again afterwards (its metadata), if any."""
    about = (f"{words.mention(grant.requester_id)} holds {words.roles_words(grant.roles)} on "
             f"{words.resource_words(grant)} (request #{grant.request_id}). Revoking ends it now and restores what "
             "they held before; they are told, with your reason.")
    view = View(type="modal", callback_id=REVOKE_CALLBACK, title="Revoke access", submit="Revoke now",
                close="Cancel", private_metadata=json.dumps({"grant": grant.id, "back": back[:2500]}), blocks=[
        SectionBlock(text=MarkdownTextObject(text=clip(about, SECTION_TEXT))),
        InputBlock(block_id=REASON, label="Why? The holder will see this.",
                   element=PlainTextInputElement(action_id=REASON, multiline=True, max_length=MAX_REASON)),
    ])  # fmt: skip
    return dict(view.to_dict())


def live_grant_line(item: LiveGrant, *, buttons: bool = True) -> SectionBlock:
    """Person, resource, roles, until, approved by; with the Revoke button when it can be revoked."""
    grant = item.grant
    by = _approved_by(item.approved_by)
    text = (f"{words.mention(grant.requester_id)} · {words.roles_words(grant.roles)} on "
            f"{words.resource_words(grant)} ({mrkdwn.line(grant.integration)})\n"
            f"{words.grant_words(grant)} · approved {by}")
    accessory = revoke_button(grant) if buttons and grant.status in REVOCABLE else None
    return SectionBlock(block_id=f"live-{grant.id}", text=MarkdownTextObject(text=clip(text, SECTION_TEXT)),
                        accessory=accessory)


def _approved_by(who: Sequence[str]) -> str:
    if not who:
        return "by nobody on record"
    if tuple(who) == ("auto",):
        return "automatically"
    if tuple(who) == ("break_glass",):
        return "through break-glass (no approval)"
    return "by " + ", ".join(words.mention(u) for u in who[:10])

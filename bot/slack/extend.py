"""Extend from Slack: the Extend button (App Home, expiry reminder) opens a modal; its submission asks for more time.

The modal opens only for the grant's holder while the grant can be extended (anyone else, or a grant that has
ended, has an extension waiting or no room left, hears why instead). It carries only the grant id. The
submission is checked and stored before the ack (so the flow's bound or a missing justification goes back into
the modal as field errors); the approval message comes after. A replayed submission (the same view id) gets a
plain ack and asks nothing more.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from access import once_only
from access.config import format_duration
from access.entities import Grant
from access.errors import AccessError, FieldErrors, Replayed
from access.policy import Requester
from access.selfservice import SelfService
from access.service import AccessService
from access.text import MAX_JUSTIFICATION
from bot.slack import messages as words
from bot.slack import payloads as p
from bot.slack import views as v
from bot.slack.directory import SlackDirectory
from bot.slack.ids import DONE, EXTEND, EXTEND_CALLBACK
from bot.slack.pacing import AfterAck
from bot.slack.replies import ephemeral

log = logging.getLogger(__name__)
MORE = (timedelta(minutes=30), timedelta(hours=1), timedelta(hours=2), timedelta(hours=4), timedelta(hours=8))


def extend_modal(grant_id: int) -> dict[str, Any]:
    options = [Option(value=format_duration(d), text=words.duration_words(int(d.total_seconds()))) for d in MORE]
    view = View(type="modal", callback_id=EXTEND_CALLBACK, private_metadata=str(grant_id), title="Extend access",
                submit="Ask", close="Cancel", blocks=[
        InputBlock(block_id=v.DURATION, label="How much more time", element=StaticSelectElement(
            action_id=v.DURATION, options=options, initial_option=options[1])),
        InputBlock(block_id=v.JUSTIFICATION, label="Why do you need more time?", optional=True,
                   element=PlainTextInputElement(action_id=v.JUSTIFICATION, multiline=True,
                                                 max_length=MAX_JUSTIFICATION)),
    ])  # fmt: skip
    return dict(view.to_dict())


def expiring_blocks(text: str, grant: Grant) -> dict[str, Any]:
    """The expiry reminder's blocks: its words, then Extend and "I'm done" (the Home's action ids)."""
    return {"blocks": [
        SectionBlock(text=MarkdownTextObject(text=v.clip(text, 3000))).to_dict(),
        ActionsBlock(block_id=f"expiring-{grant.id}", elements=[
            ButtonElement(text="Extend", action_id=EXTEND, value=str(grant.id), style="primary"),
            ButtonElement(text="I'm done", action_id=DONE, value=str(grant.id)),
        ]).to_dict(),
    ]}  # fmt: skip


def register_extend(app: App, *, selfservice: SelfService, service: AccessService, directory: SlackDirectory,
                    after_ack: AfterAck) -> None:
    listeners = ExtendListeners(selfservice=selfservice, service=service, directory=directory, after_ack=after_ack)
    app.action(EXTEND)(listeners.clicked)
    app.view(EXTEND_CALLBACK)(listeners.submitted)


class ExtendListeners:
    def __init__(self, *, selfservice: SelfService, service: AccessService, directory: SlackDirectory,
                 after_ack: AfterAck) -> None:
        self._selfservice = selfservice
        self._service = service
        self._directory = directory
        self._later = after_ack

    def clicked(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        grant_id = p.request_id_of(body)  # the button's value is the grant id
        if grant_id is not None:
            self._later.urgent(lambda: self._open(body, grant_id, client))

    def _open(self, body: dict[str, Any], grant_id: int, client: WebClient) -> None:
        """The modal, for the holder of a grant that can be extended now; anyone else hears why instead."""
        user_id = p.user_of(body)
        try:
            self._selfservice.check_extendable(grant_id=grant_id, user_id=user_id)
        except AccessError as error:
            ephemeral(client, channel=p.clicked_in(body), user_id=user_id, text=words.error_text(error))
            return
        except Exception:  # the database away, say: no modal whose submission could not be taken
            log.exception("checking whether grant %s can be extended failed", grant_id)
            ephemeral(client, channel=p.clicked_in(body), user_id=user_id, text=words.TRY_AGAIN)
            return
        client.views_open(trigger_id=body["trigger_id"], view=extend_modal(grant_id))

    def submitted(self, ack: Ack, body: dict[str, Any]) -> None:
        try:
            request_id = self._extend(body)
        except p.InputErrors as errors:
            ack(response_action="errors", errors=errors.errors)
            return
        except Replayed:
            ack()  # stored and announced by the first delivery: the modal closes, nothing more
            return
        ack()
        self._later(lambda: self._service.announce(request_id=request_id))

    def _extend(self, body: dict[str, Any]) -> int:
        view = body.get("view") or {}
        state = p.view_values(view)
        text = p.typed(state, v.JUSTIFICATION)
        grant_id = p.parse_id(view.get("private_metadata"))
        if grant_id is None:
            raise p.InputErrors({v.DURATION: "This form has lost track of its access; please click Extend again."})
        user = self._directory.user(p.user_of(body))
        if user is None or not user.email:
            raise p.InputErrors({v.DURATION: words.NO_EMAIL})
        try:
            request = self._selfservice.extend(
                grant_id=grant_id, justification=text,
                requester=Requester(user_id=p.user_of(body), email=user.email),
                duration=p.duration_answer(p.picked(state, v.DURATION) or "1h", block=v.DURATION),
                submission_key=once_only.submission_key(view.get("id")),
            )
        except Replayed:
            raise
        except FieldErrors as errors:
            raise p.InputErrors({v.JUSTIFICATION if k == v.JUSTIFICATION else v.DURATION: m
                                 for k, m in errors.errors.items()}) from None
        except (AccessError, ValueError) as error:
            raise p.InputErrors({v.DURATION: words.error_text(error)}) from None
        assert request.id is not None  # stored
        return request.id

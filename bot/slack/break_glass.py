"""Break-glass in Slack: the owners' "Reviewed" click on the loud announcement (bot.slack.break_glass_view).

Whoever clicks is authorised by the service at click time, against the resource's owners resolved again then
(and stored on the request, so the message names them); the button carries the request id and nothing else.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from access.errors import AccessError
from access.service import AccessService
from bot.slack import messages as words
from bot.slack import payloads as p
from bot.slack.ids import REVIEW
from bot.slack.pacing import AfterAck
from bot.slack.replies import ephemeral, retrying, team_of


def register(app: App, *, service: AccessService, after_ack: AfterAck) -> None:
    app.action(REVIEW)(ReviewListener(service=service, after_ack=after_ack).review)


class ReviewListener:
    def __init__(self, *, service: AccessService, after_ack: AfterAck) -> None:
        self._service = service
        self._later = after_ack

    def review(self, ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        ack()
        our_team = team_of(context)
        self._later(lambda: self._review(body, client, our_team))

    def _review(self, body: dict[str, Any], client: WebClient, our_team: str | None) -> None:
        user_id, request_id = p.user_of(body), p.request_id_of(body)
        text = None
        if p.is_foreign(body, our_team) or request_id is None:
            text = words.FOREIGN_TEAM if request_id else words.TRY_AGAIN
        else:
            try:
                retrying(lambda: self._service.review(request_id=request_id, user_id=user_id))
            except AccessError as error:
                text = words.error_text(error)
        if text is not None:
            ephemeral(client, channel=p.clicked_in(body), user_id=user_id, text=text)

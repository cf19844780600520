"""Revoke now from Slack: the Revoke button (approval message, App Homes, the admin list) opens a modal asking the
reason; its submission ends the grant at once.

The modal opens only for someone who may revoke the grant now (an admin, or an owner of the resource as a click
on the approval would resolve them); anyone else hears why, and the refusal is audited. The submission is
checked and stored before the ack, so a reason that says nothing, a grant that ended meanwhile or another
admin's revocation a moment earlier goes back into the modal and nothing changes; the revocation in Atlas runs
after the ack, through the worker. From the admin list, the list is shown again afterwards with what happened.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from access.errors import AccessError, FieldErrors, NotFound
from access.revocation import GrantControl
from bot.slack import messages as words
from bot.slack import payloads as p
from bot.slack.admin.grants import GrantsList
from bot.slack.admin.ids import GRANTS
from bot.slack.ids import REVOKE, REVOKE_CALLBACK
from bot.slack.pacing import AfterAck
from bot.slack.replies import ephemeral, retrying
from bot.slack.revoke_view import REASON, revoke_modal

log = logging.getLogger(__name__)


def register_revoke(app: App, *, control: GrantControl, after_ack: AfterAck, lists: GrantsList) -> None:
    listeners = RevokeListeners(control=control, after_ack=after_ack, lists=lists)
    app.action(REVOKE)(listeners.clicked)
    app.view(REVOKE_CALLBACK)(listeners.submitted)


class RevokeListeners:
    def __init__(self, *, control: GrantControl, after_ack: AfterAck, lists: GrantsList) -> None:
        self._control = control
        self._later = after_ack
        self._lists = lists

    def clicked(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        grant_id = p.request_id_of(body)  # the button's value is the grant id
        if grant_id is None:
            self._later(lambda: self._tell(client, body, words.TRY_AGAIN))
            return
        self._later.urgent(lambda: self._open(body, grant_id, client))

    def _open(self, body: dict[str, Any], grant_id: int, client: WebClient) -> None:
        user_id = p.user_of(body)
        try:
            self._control.role_of(grant_id=grant_id, user_id=user_id)
            grant = self._control.grant(grant_id)
        except AccessError as error:
            self._tell(client, body, _refusal_words(error))
            return
        except Exception:  # the database away, say: no modal whose submission could not be taken
            log.exception("checking who may revoke grant %s failed", grant_id)
            self._tell(client, body, words.TRY_AGAIN)
            return
        view = body.get("view") or {}
        if view.get("type") == "modal":  # the admin list: the reason modal goes on top, the list comes back after
            back = str(view.get("private_metadata") or "") if view.get("callback_id") == GRANTS else ""
            client.views_push(trigger_id=body["trigger_id"], view=revoke_modal(grant, back=back))
        else:
            client.views_open(trigger_id=body["trigger_id"], view=revoke_modal(grant))

    def submitted(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        view = body.get("view") or {}
        user_id = p.user_of(body)
        meta = _metadata(view.get("private_metadata"))
        grant_id = p.parse_id(str(meta.get("grant")))
        reason = p.typed(p.view_values(view), REASON)
        if grant_id is None:
            ack(response_action="errors", errors={REASON: "This form has lost track of its grant: click Revoke again."})
            return
        try:
            retrying(lambda: self._control.revoke_now(grant_id=grant_id, user_id=user_id, reason=reason, run=False))
        except FieldErrors as errors:
            ack(response_action="errors", errors={REASON: words.error_text(errors)})
            return
        except AccessError as error:
            ack(response_action="errors", errors={REASON: _refusal_words(error)})
            return
        except Exception:
            log.exception("revoking grant %s failed", grant_id)
            ack(response_action="errors", errors={REASON: words.TRY_AGAIN})
            return
        ack()
        root = view.get("root_view_id")
        back = meta.get("back")
        self._later(lambda: self._after(client, grant_id, root if root != view.get("id") else None, back))

    def _after(self, client: WebClient, grant_id: int, root: object, back: object) -> None:
        self._control.finish()  # the worker revokes it now, as at an expiry
        if isinstance(root, str) and root and isinstance(back, str) and back:
            self._lists.refresh(client, root, back, f":octagonal_sign: Grant #{grant_id} is revoked.")

    def _tell(self, client: WebClient, body: dict[str, Any], text: str) -> None:
        ephemeral(client, channel=p.clicked_in(body), user_id=p.user_of(body), text=text)


def _refusal_words(error: AccessError) -> str:
    if isinstance(error, NotFound):
        return "I can't find that access any more."
    return words.error_text(error)


def _metadata(value: object) -> dict[str, Any]:
    try:
        data = json.loads(value) if isinstance(value, str) else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}

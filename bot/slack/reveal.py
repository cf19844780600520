"""Show credentials: the button of the DM that offers a temporary database user, and the modal that shows its
sign-in once.

The click is acked at once; the modal opens (its trigger is good for 3 s) with what `CredentialReveals.reveal`
took out of the vault, which deletes it as it reads, so whichever replica gets the click shows it, and a second
click, someone else's click, or a click after 10 minutes is refused with a note saying why. The modal goes
through the CredentialsCourier's quiet client, since its body holds the password; nothing of it is logged.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.models.blocks import ActionsBlock, ButtonElement, MarkdownTextObject, SectionBlock
from slack_sdk.models.views import View

from access.entities import Grant
from access.errors import AccessError
from access.model import HeldCredentials
from access.reveal import CredentialReveals
from bot.slack import messages as words
from bot.slack import mrkdwn
from bot.slack import payloads as p
from bot.slack import views as v
from bot.slack.credentials_dm import CredentialsCourier
from bot.slack.ids import CREDENTIALS_CALLBACK, SHOW_CREDENTIALS
from bot.slack.pacing import AfterAck
from bot.slack.replies import ephemeral

log = logging.getLogger(__name__)


def offer_blocks(text: str, grant: Grant) -> list[dict[str, Any]]:
    """The offer DM's blocks: its words, then the Show credentials button (its value: the grant id)."""
    return [
        SectionBlock(text=MarkdownTextObject(text=v.clip(text, 3000))).to_dict(),
        ActionsBlock(block_id=f"credentials-{grant.id}", elements=[
            ButtonElement(text="Show credentials", action_id=SHOW_CREDENTIALS, value=str(grant.id), style="primary"),
        ]).to_dict(),
    ]  # fmt: skip


def credentials_modal(held: HeldCredentials) -> dict[str, Any]:
    if held.certificate is not None:
        return _certificate_modal(held, held.certificate)
    lines = [f"*Username:* {mrkdwn.code(held.username)}", f"*Password:* {mrkdwn.code(held.password or '')}",
             "*Authentication database:* `admin`"]
    if held.connection_string:
        lines.append(f"*Connection string:* {mrkdwn.code(held.connection_string)}")
    view = View(type="modal", callback_id=CREDENTIALS_CALLBACK, title="Your credentials", close="Done", blocks=[
        SectionBlock(text=MarkdownTextObject(text="\n".join(lines))),
        SectionBlock(text=MarkdownTextObject(text=(
            ":warning: This is the only time they are shown: atlas-access keeps no copy now. Copy the password "
            "before you close this."))),
    ])  # fmt: skip
    return dict(view.to_dict())


def _certificate_modal(held: HeldCredentials, pem: str) -> dict[str, Any]:
    """An X.509 user's sign-in: the PEM file (certificate, then private key) in code blocks, split over as many
    sections as Slack's 3000 characters a section need, and how to connect with it."""
    file = f"{held.username}.pem"
    lines = [f"*Username:* {mrkdwn.code(held.username)} (the certificate's subject)",
             "*Authentication:* X.509, database `$external`"]
    if held.connection_string:
        lines.append(f"*Connection string:* {mrkdwn.code(held.connection_string)}")
    pieces = pem_pieces(pem)
    several = len(pieces) > 1
    where = held.connection_string or "<connection string>"
    blocks = [
        SectionBlock(text=MarkdownTextObject(text="\n".join(lines))),
        SectionBlock(text=MarkdownTextObject(text=(
            f"*Certificate and private key* ({len(pieces)} part{'s' if several else ''}): copy "
            f"{'them, in this order, into one file' if several else 'it into a file'}, e.g. {mrkdwn.code(file)}, "
            "readable by you only."))),
        *(SectionBlock(text=MarkdownTextObject(text=mrkdwn.code_block(piece))) for piece in pieces),
        SectionBlock(text=MarkdownTextObject(text="Connect with " + mrkdwn.code(
            f'mongosh "{where}" --tls --tlsCertificateKeyFile {file}'))),
        SectionBlock(text=MarkdownTextObject(text=(
            ":warning: This is the only time it is shown: atlas-access keeps no copy now, and Atlas gives a "
            "certificate's private key once. Copy it before you close this."))),
    ]
    view = View(type="modal", callback_id=CREDENTIALS_CALLBACK, title="Your certificate", close="Done",
                blocks=blocks)
    return dict(view.to_dict())


CODE_BLOCK_ROOM = mrkdwn.SECTION_TEXT - len(mrkdwn.code_block(""))  # what a section's code block may hold


def pem_pieces(pem: str, *, limit: int = CODE_BLOCK_ROOM) -> list[str]:
    """The PEM file in pieces of whole lines, each at most `limit` characters (so a section's code block fits in
    Slack's 3000), a new piece at each `-----BEGIN` line: joined with line breaks, the pieces are the file again."""
    pieces: list[list[str]] = [[]]
    size = 0
    for row in pem.strip().splitlines():
        if pieces[-1] and (row.startswith("-----BEGIN") or size + 1 + len(row) > limit):
            pieces.append([])
            size = 0
        while len(row) > limit:  # a line longer than a piece (not PEM): cut, never left for Slack to refuse
            pieces[-1].append(row[:limit])
            pieces.append([])
            row = row[limit:]
        size += len(row) + (1 if pieces[-1] else 0)
        pieces[-1].append(row)
    return ["\n".join(piece) for piece in pieces if piece]


def register_reveal(app: App, *, reveals: CredentialReveals, courier: CredentialsCourier,
                    after_ack: AfterAck) -> None:
    listeners = RevealListeners(reveals=reveals, courier=courier, after_ack=after_ack)
    app.action(SHOW_CREDENTIALS)(listeners.clicked)


class RevealListeners:
    def __init__(self, *, reveals: CredentialReveals, courier: CredentialsCourier, after_ack: AfterAck) -> None:
        self._reveals = reveals
        self._courier = courier
        self._later = after_ack

    def clicked(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        grant_id = p.request_id_of(body)  # the button's value is the grant id
        if grant_id is not None:
            self._later.urgent(lambda: self._show(body, grant_id, client))

    def _show(self, body: dict[str, Any], grant_id: int, client: WebClient) -> None:
        user_id = p.user_of(body)
        try:
            held = self._reveals.reveal(grant_id=grant_id, user_id=user_id)
        except AccessError as error:
            ephemeral(client, channel=p.clicked_in(body), user_id=user_id, text=words.error_text(error))
            return
        except Exception:  # the database away, say: nothing was taken, a later click may show it
            log.exception("showing grant %s's credentials failed", grant_id)
            ephemeral(client, channel=p.clicked_in(body), user_id=user_id, text=words.TRY_AGAIN)
            return
        if not self._courier.show(trigger_id=str(body.get("trigger_id") or ""), view=credentials_modal(held)):
            try:
                self._reveals.put_back(held)
                note = "Slack would not open the credentials. Press *Show credentials* again."
            except Exception as error:
                log.warning("holding grant %s's credentials again failed: %s", grant_id, type(error).__name__)
                note = "Slack would not open the credentials, and they cannot be shown again."
            ephemeral(client, channel=p.clicked_in(body), user_id=user_id, text=note)

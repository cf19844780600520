"""`/atlas-admin grants [integration:… resource:… person:…]`: every live grant in a modal, a page at a time, each
with Revoke now (bot.slack.revoke takes the click).

The modal's metadata and its Previous / Next buttons carry only the filter as typed and the page's offset: who may
see the list is asked again at every click (the admin guard), and who may revoke at the Revoke click.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, BoltContext
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
from slack_sdk.models.views import View

from access.revocation import PAGE, GrantControl, LivePage, parse_filter
from access.text import one_line
from bot.slack import mrkdwn
from bot.slack.admin import ids
from bot.slack.admin.context import Admin
from bot.slack.mrkdwn import SECTION_TEXT, clip
from bot.slack.replies import team_of
from bot.slack.revoke_view import live_grant_line
from bot.slack.views import notice_modal

log = logging.getLogger(__name__)
MAX_FILTER = 300


@dataclass(frozen=True, kw_only=True)
class ListState:
    """Which page of the list a modal shows: the filter as typed and the offset."""

    query: str = ""
    offset: int = 0

    def dump(self) -> str:
        return json.dumps({"q": self.query, "o": self.offset})


def list_state(value: object) -> ListState:
    """A ListState from a modal's metadata or a button's value; the first page of everything when unreadable."""
    try:
        data = json.loads(value) if isinstance(value, str) else {}
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    query, offset = data.get("q"), data.get("o")
    return ListState(query=one_line(query)[:MAX_FILTER] if isinstance(query, str) else "",
                     offset=offset if isinstance(offset, int) and 0 <= offset <= 1_000_000 else 0)


def grants_modal(page: LivePage, state: ListState, *, notice: str | None = None) -> dict[str, Any]:
    blocks: list[Block] = []
    if notice:
        blocks.append(SectionBlock(block_id="grants_notice", text=MarkdownTextObject(text=clip(notice, SECTION_TEXT))))
    shown = f" matching {mrkdwn.code(state.query)}" if state.query else ""
    blocks.append(HeaderBlock(text="Live grants"))
    if not page.items:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=f"No live grants{shown}.")]))
    else:
        first, last = page.offset + 1, page.offset + len(page.items)
        blocks.append(ContextBlock(elements=[MarkdownTextObject(
            text=clip(f"{first}–{last} of {page.total} live grants{shown}, oldest first.", SECTION_TEXT))]))
    blocks += [live_grant_line(item) for item in page.items]
    nav = []
    if page.offset > 0:
        back = ListState(query=state.query, offset=max(page.offset - page.limit, 0))
        nav.append(ButtonElement(text="Previous", action_id=ids.GRANTS_PAGE, value=back.dump()))
    if page.more:
        nav.append(ButtonElement(text="Next", action_id=ids.GRANTS_PAGE,
                                 value=ListState(query=state.query, offset=page.offset + len(page.items)).dump()))
    if nav:
        blocks.append(ActionsBlock(block_id="grants_nav", elements=nav))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(
        text="Narrow it with `/atlas-admin grants integration:NAME resource:NAME person:@someone`.")]))
    view = View(type="modal", callback_id=ids.GRANTS, title="Live grants", close="Close",
                private_metadata=state.dump(), blocks=blocks)
    return dict(view.to_dict())


def render(control: GrantControl, state: ListState, *, notice: str | None = None) -> dict[str, Any]:
    """The list's page for `state`; a filter that does not parse shows what is wrong with it."""
    where = parse_filter(state.query)
    if isinstance(where, str):
        return notice_modal(mrkdwn.text(where))
    page = control.live(where=where, offset=state.offset, limit=PAGE)
    if not page.items and page.offset > 0:  # the page emptied (grants ended): the last one there is
        page = control.live(where=where, offset=max(page.total - PAGE, 0), limit=PAGE)
        state = ListState(query=state.query, offset=page.offset)
    return grants_modal(page, state, notice=notice)


class GrantsList:
    def __init__(self, admin: Admin, control: GrantControl) -> None:
        self._admin = admin
        self._control = control

    def open(self, body: dict[str, Any], client: WebClient, team: str | None, query: str) -> None:
        """`/atlas-admin grants …`: the modal opens at once (its trigger is good for 3 s), then fills."""
        opened = client.views_open(trigger_id=body["trigger_id"], view=notice_modal("Loading…"))
        view_id = str(opened["view"]["id"])
        refusal = self._admin.refusal(body, team, f"{ids.ADMIN_COMMAND} grants")
        view = notice_modal(refusal) if refusal else render(self._control, ListState(query=query[:MAX_FILTER]))
        self._admin.update_view(client, view_id, view)

    def page(self, ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        ack()
        team = team_of(context)
        self._admin.later(lambda: self._page(body, client, team))

    def _page(self, body: dict[str, Any], client: WebClient, team: str | None) -> None:
        refusal = self._admin.refusal(body, team, ids.GRANTS_PAGE)
        view_id = str((body.get("view") or {}).get("id") or "")
        if not view_id:
            return
        if refusal is not None:
            self._admin.update_view(client, view_id, notice_modal(refusal))
            return
        state = list_state(((body.get("actions") or [{}])[0]).get("value"))
        self._admin.update_view(client, view_id, render(self._control, state))

    def refresh(self, client: WebClient, view_id: str, back: str, notice: str) -> None:
        """After a revocation from the list: the list again, as it is now, with what happened."""
        self._admin.update_view(client, view_id, render(self._control, list_state(back), notice=notice))

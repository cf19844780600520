"""Block Kit of the App Home: my access (I'm done), my pending requests (Cancel), requests waiting for me, health.

Slack allows 100 blocks in a Home: each list shows at most `PER_SECTION` items and says how many more there
are (`/atlas-access list` shows everything of one's own), so the view stays well under the limit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from access.entities import AccessRequest, Grant
from access.homes import HomeData
from access.model import GrantStatus
from bot.slack import messages as words
from bot.slack import mrkdwn
from bot.slack.ids import CANCEL, DONE, EXTEND
from bot.slack.revoke_view import live_grant_line
from bot.slack.views import APPROVE, APPROVE_FOR, DENY, clip

PER_SECTION = 8  # 4 sections x (8 items x 2 blocks + header + overflow note) + a few: under 100 blocks
# (the live grants an admin or owner may revoke: 8 more, one block each, with a title and a note: still under 100)
MAX_BLOCKS = 100


def home_view(data: HomeData) -> dict[str, Any]:
    """The Home tab of `data.user_id`, rendered from stored state; buttons carry only ids."""
    blocks: list[Block] = [HeaderBlock(text="Atlas access")]
    blocks += _section("Your access", data.grants, lambda g: _grant_blocks(g, data.now),
                       empty="You have no Atlas access through atlas-access right now.")
    blocks += _section("Your pending requests", data.pending, _pending_blocks, empty="Nothing pending.")
    if data.to_decide:
        blocks += _section("Waiting for your decision", data.to_decide, _decide_blocks, empty="")
    if data.live:
        blocks += _live_blocks(data)
    if data.health:
        blocks += _health_blocks(data.health)
    blocks.append(ContextBlock(elements=[MarkdownTextObject(
        text="Ask for access with `/atlas-access`; `/atlas-access list` shows all your requests.")]))
    view = View(type="home", blocks=blocks[:MAX_BLOCKS])
    return dict(view.to_dict())


def _section(title: str, items: tuple[Any, ...], render: Any, *, empty: str) -> list[Block]:
    blocks: list[Block] = [DividerBlock(), SectionBlock(text=MarkdownTextObject(text=f"*{title}*"))]
    if not items:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=empty)]))
    for item in items[:PER_SECTION]:
        blocks += render(item)
    if len(items) > PER_SECTION:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=f"…and {len(items) - PER_SECTION} more.")]))
    return blocks


def _grant_blocks(grant: Grant, now: datetime) -> list[Block]:
    text = (f"{words.roles_words(grant.roles)} on {words.resource_words(grant)}{words.sign_in_words(grant)}\n"
            f"{words.grant_words(grant)}")
    if grant.status is GrantStatus.ACTIVE and grant.expires_at is not None:
        text += f" · {time_left(grant.expires_at, now)} left"
    blocks: list[Block] = [SectionBlock(block_id=f"grant-{grant.id}", text=MarkdownTextObject(
        text=clip(text, 3000)))]
    if grant.status in (GrantStatus.ACTIVE, GrantStatus.INVITED):
        buttons = [ButtonElement(text="I'm done", action_id=DONE, value=str(grant.id), style="danger")]
        if grant.status is GrantStatus.ACTIVE:
            buttons.insert(0, ButtonElement(text="Extend", action_id=EXTEND, value=str(grant.id)))
        blocks.append(ActionsBlock(block_id=f"grant-actions-{grant.id}", elements=buttons))
    return blocks


def _pending_blocks(request: AccessRequest) -> list[Block]:
    text = (f"#{request.id}: {words.roles_words(request.roles)} on {words.resource_words(request)} for "
            f"{words.duration_words(request.duration_seconds)} · asked {words.when(request.created_at)}")
    return [
        SectionBlock(block_id=f"pending-{request.id}", text=MarkdownTextObject(text=clip(text, 3000)),
                     accessory=ButtonElement(text="Cancel", action_id=CANCEL, value=str(request.id))),
    ]


def _decide_blocks(request: AccessRequest) -> list[Block]:
    text = (f"#{request.id}: {words.mention(request.requester_id)} asks for {words.roles_words(request.roles)} "
            f"on {words.resource_words(request)} for {words.duration_words(request.duration_seconds)}")
    if request.justification:
        text += "\n" + mrkdwn.quote(clip(request.justification.splitlines()[0], 500))
    return [
        SectionBlock(block_id=f"decide-text-{request.id}", text=MarkdownTextObject(text=clip(text, 3000))),
        ActionsBlock(block_id=f"home-decide-{request.id}", elements=[
            ButtonElement(text="Approve", action_id=APPROVE, value=str(request.id), style="primary"),
            ButtonElement(text="Approve for…", action_id=APPROVE_FOR, value=str(request.id)),
            ButtonElement(text="Deny", action_id=DENY, value=str(request.id), style="danger"),
        ]),
    ]  # fmt: skip


def _live_blocks(data: HomeData) -> list[Block]:
    """Others' live grants this person may revoke: every one for an admin, those on resources they own else."""
    title = "Live grants (admins)" if data.admin else "Live access on resources you own"
    blocks: list[Block] = [DividerBlock(), SectionBlock(text=MarkdownTextObject(text=f"*{title}*"))]
    blocks += [live_grant_line(item) for item in data.live]
    more = data.live_total - len(data.live)
    if more > 0:
        where = "`/atlas-admin grants` lists them all" if data.admin else "each approval message has Revoke too"
        blocks.append(ContextBlock(elements=[MarkdownTextObject(
            text=f"…and {more if data.admin else 'more'}{' more' if data.admin else ''}: {where}.")]))
    return blocks


def _health_blocks(health: tuple[tuple[str, dict[str, object]], ...]) -> list[Block]:
    lines = [_health_line(name, status) for name, status in health[:20]]
    return [DividerBlock(), SectionBlock(text=MarkdownTextObject(text="*Integration health* (admins)")),
            SectionBlock(text=MarkdownTextObject(text=clip("\n".join(lines) or "No integrations.", 3000)))]


def _health_line(name: str, status: dict[str, object]) -> str:
    errors = [mrkdwn.line(status[key]) for key in ("last_sync_error", "last_rotation_error") if status.get(key)]
    synced = status.get("last_sync_at")
    when = words.when(synced) if isinstance(synced, datetime) else "never"
    mark = ":warning:" if errors else ":large_green_circle:"
    tail = f" · {clip(errors[0], 200)}" if errors else ""
    return f"{mark} *{mrkdwn.line(name)}* · last sync {when}{tail}"


def time_left(expires_at: datetime, now: datetime) -> str:
    seconds = max(0, int((expires_at - now).total_seconds()))
    return words.duration_words(seconds)

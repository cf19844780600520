"""The admin home modal: every integration with its health and actions, every access flow, and what just happened.

Built with `slack_sdk.models` so Slack's limits are checked here. Buttons carry only a name; the listener
re-checks who clicked. A modal holds at most 100 blocks: flows beyond that are counted, not shown.
"""

from __future__ import annotations

from collections.abc import Mapping

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from access.config import AccessFlowSpec, format_duration
from bot.slack import messages, mrkdwn
from bot.slack.admin import ids
from bot.slack.admin.connection import ConnectionResult
from bot.slack.admin.overview import IntegrationHealth, Overview
from bot.slack.admin.words import when
from bot.slack.views import SECTION_TEXT, clip

TITLE = "atlas-access admin"
MAX_BLOCKS = 100
CHECKING = ":hourglass_flowing_sand: checking…"


def loading_modal(text: str = "Loading…") -> dict[str, object]:
    return View(type="modal", callback_id=ids.HOME, title=TITLE, close="Close",
                blocks=[SectionBlock(text=MarkdownTextObject(text=clip(text, SECTION_TEXT)))]).to_dict()


def home_modal(overview: Overview, *, checks: Mapping[str, ConnectionResult | None] | None = None,
               notice: str | None = None) -> dict[str, object]:
    """`checks`: each integration's live credential check (None: still running; no entry: not checked)."""
    blocks: list[Block] = []
    if notice:
        blocks.append(SectionBlock(block_id="admin_notice", text=MarkdownTextObject(text=clip(notice, SECTION_TEXT))))
    blocks += [
        HeaderBlock(text="Integrations"),
        ActionsBlock(block_id="admin_top", elements=[
            ButtonElement(text="Add integration", action_id=ids.ADD_INTEGRATION, value="new", style="primary"),
            ButtonElement(text="Add access flow", action_id=ids.ADD_FLOW, value="new"),
            ButtonElement(text="Refresh", action_id=ids.REFRESH, value="refresh"),
        ]),
    ]  # fmt: skip
    if not overview.integrations:
        blocks.append(_note("No integrations yet: add one, or load a file with `atlas-access config apply`."))
    for health in overview.integrations:
        blocks += _integration_blocks(health, (checks or {}).get(health.name, _UNCHECKED))
    blocks += [DividerBlock(), HeaderBlock(text="Access flows")]
    blocks += _flow_blocks(list(overview.flows), room=MAX_BLOCKS - len(blocks))
    return View(type="modal", callback_id=ids.HOME, title=TITLE, close="Close", blocks=blocks).to_dict()


_UNCHECKED = ConnectionResult(ok=True, text="")


def _note(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=clip(text, 2000))])


def _integration_blocks(health: IntegrationHealth, check: ConnectionResult | None) -> list[Block]:
    state = "" if health.enabled else "  _(disabled)_"
    owners = mrkdwn.line(", ".join(health.owners)) or "none"
    summary = (f"*{mrkdwn.line(health.name)}*{state}\norganization {mrkdwn.code(health.organization_id)} · "
               f"{mrkdwn.line(health.credential)} · owners: {owners}"
               + (f" · resource owner tag {mrkdwn.code(health.resource_owner_tag)}"
                                      if health.resource_owner_tag else "")
               + (f"\n{mrkdwn.line(health.connections)}" if health.connections else ""))
    return [
        SectionBlock(block_id=f"admin_i_{health.name}", text=MarkdownTextObject(text=clip(summary, SECTION_TEXT))),
        _note("\n".join(_health_lines(health, check))),
        ActionsBlock(block_id=f"admin_i_actions_{health.name}", elements=_integration_buttons(health)),
    ]


def _health_lines(health: IntegrationHealth, check: ConnectionResult | None) -> list[str]:
    lines = []
    if check is None:
        lines.append(f"Credentials: {CHECKING}")
    elif check.text:
        lines.append(f"Credentials: {check.text}")
    sync = f"Last sync: {when(health.last_sync_at)}"
    if health.last_sync_error:
        sync += f" — :warning: last attempt failed: {mrkdwn.line(clip(health.last_sync_error, 300))}"
    lines.append(sync)
    every = f" (every {health.rotation_days} days)" if health.rotation_days else " (no scheduled rotation)"
    rotation = f"Last rotation: {when(health.last_rotation_at)}{every}"
    if health.pending_retire:
        rotation += " — the old credential still waits to be deleted"
    if health.last_rotation_error:
        rotation += f" — :warning: {mrkdwn.line(clip(health.last_rotation_error, 300))}"
    lines.append(rotation)
    counts = health.counts
    lines.append(f"Inventory: {counts.get('organizations', 0)} organizations, {counts.get('projects', 0)} projects, "
                 f"{counts.get('clusters', 0)} clusters, {counts.get('users', 0)} users"
                 + (f", {counts['teams']} teams" if counts.get("teams") else ""))
    return lines


def _integration_buttons(health: IntegrationHealth) -> list[ButtonElement]:
    name = health.name
    toggle = ButtonElement(
        text="Disable" if health.enabled else "Enable", action_id=ids.TOGGLE_INTEGRATION, value=name,
        style="danger" if health.enabled else None,
        confirm=ConfirmObject(title="Disable this integration?", text=(
            f"Nobody can ask for access through {name} while it is disabled; access already granted still "
            "ends on time."), confirm="Disable", deny="Keep it") if health.enabled else None,
    )  # fmt: skip
    return [
        ButtonElement(text="Edit", action_id=ids.EDIT_INTEGRATION, value=name),
        ButtonElement(text="Test connection", action_id=ids.TEST_INTEGRATION, value=name),
        ButtonElement(text="Sync now", action_id=ids.SYNC_INTEGRATION, value=name),
        ButtonElement(text="Rotate now", action_id=ids.ROTATE_INTEGRATION, value=name, confirm=ConfirmObject(
            title="Rotate the credential now?", text=(
                f"A new credential for {name} is made, checked and stored, then the old one is deleted in Atlas."),
            confirm="Rotate", deny="Not now")),
        toggle,
    ]


def _flow_blocks(flows: list[AccessFlowSpec], *, room: int) -> list[Block]:
    if not flows:
        return [_note("No access flows yet: add one so people can ask for access.")]
    blocks: list[Block] = []
    for index, flow in enumerate(flows):
        if len(blocks) + 3 > room:
            rest = len(flows) - index
            blocks.append(_note(f"… and {rest} more access flows: see `atlas-access config show`."))
            break
        blocks += [SectionBlock(block_id=f"admin_f_{flow.name}", text=MarkdownTextObject(
                       text=clip(flow_summary(flow), SECTION_TEXT))),
                   ActionsBlock(block_id=f"admin_f_actions_{flow.name}", elements=[
                       ButtonElement(text="Edit", action_id=ids.EDIT_FLOW, value=flow.name),
                       ButtonElement(text="Disable" if flow.enabled else "Enable", action_id=ids.TOGGLE_FLOW,
                                     value=flow.name)])]  # fmt: skip
    return blocks


def flow_summary(flow: AccessFlowSpec) -> str:
    state = "" if flow.enabled else "  _(disabled)_"
    state += "  :rotating_light: break glass" if getattr(flow, "break_glass", False) else ""
    kinds = " and ".join(f"{t.value}s" for t in flow.resources.types)
    names = mrkdwn.line(", ".join(flow.resources.names))
    tags = mrkdwn.line(", ".join(f"{k}={v}" for k, v in flow.resources.tags.items()))
    approval = ("auto-approved" if flow.approval == "auto"
                else f"{flow.approvals_required} owner approval{'s' if flow.approvals_required != 1 else ''}")
    if flow.auto_approve is not None:
        rule = flow.auto_approve.on_call
        approval += (f" (or at once for whoever is on call in PagerDuty {mrkdwn.line(', '.join(rule.schedules))}, "
                     f"up to {format_duration(rule.max_duration)})")
    who = mrkdwn.line(", ".join(flow.requesters))
    return (f"*{mrkdwn.line(flow.name)}*{state} → {mrkdwn.line(flow.integration)}\n{kinds} named {names}"
            + (f" tagged {tags}" if tags else "")
            + f" · {messages.roles_words(flow.roles)} · up to {format_duration(flow.max_duration)} · {approval} · "
            f"justification {flow.justification} · asked by {who}")

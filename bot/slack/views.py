"""Block Kit for people: the request modal, the approval message, the deny-reason modal, help and `list`.

Built with `slack_sdk.models` so Slack's limits (lengths, counts) are checked here, before Slack refuses a
view. Everything is rendered from stored state; ids are the only thing a view carries back to us.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ContextBlock,
    DateTimePickerElement,
    ExternalDataMultiSelectElement,
    ExternalDataSelectElement,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticMultiSelectElement,
    StaticSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from access.config import MAX_ITEMS, format_duration
from access.entities import AccessRequest, Grant, InventoryResource
from access.model import RequestStatus
from access.service import MyAccess, RequestForm
from access.text import MAX_DURATION_TEXT, MAX_JUSTIFICATION, MAX_REASON
from bot.slack import messages as words
from bot.slack import mrkdwn
from bot.slack.break_glass_view import break_glass_message
from bot.slack.on_call_view import message_blocks as on_call_blocks
from bot.slack.on_call_view import modal_line as on_call_line
from bot.slack.on_call_view import summary as on_call_summary
from bot.slack.revoke_view import revoke_actions

REQUEST_CALLBACK = "access_request"
DENY_CALLBACK = "deny_reason"
RESOURCE, ROLES, DURATION, CUSTOM, JUSTIFICATION, REASON = (
    "resource", "roles", "duration", "duration_custom", "justification", "reason",
)  # block ids, equal to their action ids and to the domain's FieldErrors keys
START = "start"  # "Start later": scheduled access (a date and time), within the flow's max_schedule_ahead
ON_BEHALF = "on_behalf"  # "For" (admins and delegates): whom the access is for, when not oneself
EMERGENCY = "emergency"  # the "This is an emergency" box: its block id, action id and option value
NETWORK = "network"  # the requester's IP address or CIDR block (a flow with network_access); the FieldErrors key
MORE = "more_resources"  # several resources in one request: the other resources, each with its roles below
BUNDLE = "bundle"  # a flow's bundle: picking one fills in its resources and roles
APPROVE, DENY = "approve", "deny"
APPROVE_ALL = "approve_all"  # a request of several resources: approve every waiting item of the message
APPROVE_FOR, APPROVE_FOR_CALLBACK = "approve_for", "approve_for_terms"  # "Approve for…" and its modal
PRESETS = (timedelta(minutes=30), timedelta(hours=1), timedelta(hours=2), timedelta(hours=4), timedelta(hours=8),
           timedelta(days=1), timedelta(days=2), timedelta(days=3), timedelta(days=7))
OPTION_TEXT = 75
SECTION_TEXT = mrkdwn.SECTION_TEXT


def clip(text: str, limit: int) -> str:
    return mrkdwn.clip(text, limit)


# --- the request modal ------------------------------------------------------------------------------------


def resource_value(resource: InventoryResource) -> str:
    """The option value: integration and Atlas id only (an option value is at most 150 characters)."""
    return f"{resource.integration}|{resource.atlas_id}"


def parse_resource_value(value: str) -> tuple[str, str] | None:
    integration, _, atlas_id = value.partition("|")
    return (integration, atlas_id) if integration and atlas_id else None


def role_title(role: str) -> str:
    """`GROUP_OWNER` -> `Project Owner`, `GROUP_DATA_ACCESS_READ_ONLY` -> `Project Data Access Read Only`."""
    return "Project " + role.removeprefix("GROUP_").replace("_", " ").title()


def team_gives(resource: InventoryResource) -> str:
    """What joining a team gives: `Project Owner on payments, orders; Project Read Only on search`."""
    by_roles: dict[str, list[str]] = {}
    for project in resource.team_projects:
        by_roles.setdefault(", ".join(role_title(r) for r in sorted(project.roles)), []).append(project.name)
    return "; ".join(f"{roles} on {', '.join(names)}" for roles, names in by_roles.items()) or "no project roles"


def resource_label(resource: InventoryResource) -> str:
    org = mrkdwn.plain(resource.organization_name or resource.organization_id)
    if resource.kind.value == "team":
        text = f"team {mrkdwn.plain(resource.name)}: {mrkdwn.plain(team_gives(resource))}"
        return clip(f"{text} · {mrkdwn.plain(resource.integration)}", OPTION_TEXT)
    text = f"{resource.kind.value} {mrkdwn.plain(resource.name)}"
    if resource.kind.value in ("project", "cluster"):
        text += f" · {org}"
    return clip(f"{text} · {mrkdwn.plain(resource.integration)}", OPTION_TEXT)


def resource_option(resource: InventoryResource) -> Option:
    return Option(value=resource_value(resource), text=resource_label(resource))


def resource_options(resources: list[InventoryResource]) -> list[dict[str, Any]]:
    """The options-load answer (at most 100 options, as Slack allows)."""
    return [resource_option(r).to_dict("block") for r in resources[:100]]


UNAVAILABLE = "unavailable"  # the value of the one option offered when the search itself failed


def unavailable_options() -> list[dict[str, Any]]:
    """The options-load answer when the inventory cannot be searched: a picker has no room for an error, so
    the one option says what happened (picking it says it again in the modal)."""
    return [Option(value=UNAVAILABLE, text=":warning: Can't search right now: try again in a minute").to_dict("block")]


def item_roles(index: int) -> str:
    """The block and action id of the roles of the `index`-th resource (from 1: the first is `roles`); equal to the
    domain's FieldErrors key for them (access.several.roles_key)."""
    return f"{ROLES}@{index}"


def request_modal(
    *, form: RequestForm | None = None, approvers: str = "", notice: str | None = None, emergency: bool = False,
    bundles: list[tuple[str, str]] | None = None, extras: list[tuple[RequestForm, tuple[str, ...]]] | None = None,
    preset: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The modal: a resource picker; once a resource is picked, its roles, duration and justification.

    Several resources in one request: "More resources" adds others (`extras`: each one's form and the roles picked
    so far), each with its own roles; `bundles` ((flow, bundle) names) offers a flow's bundles, which fill all of
    that in (`preset`: the first resource's roles).

    Where a break-glass flow covers the resource, an optional "This is an emergency" box: only a submission with
    it ticked is an emergency grant. `emergency` (from `/atlas-access emergency`) ticks it beforehand and is
    kept in the private metadata through later picks.
    """
    blocks: list[Block] = [ActionsBlock(block_id=BUNDLE, elements=[StaticSelectElement(
        action_id=BUNDLE, placeholder="Or pick a bundle (several resources at once)",
        options=[Option(value=clip(f"{flow}|{name}", 150), text=clip(f"{mrkdwn.plain(name)} ({mrkdwn.plain(flow)})",
                                                                      OPTION_TEXT))
                 for flow, name in bundles[:100]])])] if bundles else []
    blocks.append(InputBlock(
        block_id=RESOURCE, label="Organization, project or cluster", dispatch_action=True,
        element=ExternalDataSelectElement(
            action_id=RESOURCE, placeholder="Type to search the inventory", min_query_length=0,
            initial_option=resource_option(form.resource) if form else None,
        ),
    ))  # fmt: skip
    if emergency and form is None and not notice:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=EMERGENCY_MODE)]))
    if notice:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=clip(f":warning: {notice}", SECTION_TEXT))]))
    meta: dict[str, object] = {"emergency": True} if emergency else {}
    if form is not None:
        more = _more_blocks(extras or [])
        own = _form_blocks(form, approvers, emergency=emergency, preset=preset)
        blocks += [own[0], *more, *own[1:]]
        meta |= {"integration": form.resource.integration, "resource_id": form.resource.atlas_id}
        if extras:
            meta["items"] = [[f.resource.integration, f.resource.atlas_id] for f, _ in extras]
    metadata = json.dumps(meta) if meta else ""
    view = View(type="modal", callback_id=REQUEST_CALLBACK, title="Atlas access", submit="Request", close="Cancel",
                blocks=blocks, private_metadata=metadata)
    return view.to_dict()


def _more_blocks(extras: list[tuple[RequestForm, tuple[str, ...]]]) -> list[Block]:
    """"More resources" (the same request), and the roles of each one picked there."""
    blocks: list[Block] = [InputBlock(
        block_id=MORE, label="More resources (the same request)", optional=True, dispatch_action=True,
        hint=f"Up to {MAX_ITEMS} in all, each approved by its own owners; all of them end together.",
        element=ExternalDataMultiSelectElement(
            action_id=MORE, placeholder="Type to search the inventory", min_query_length=0,
            max_selected_items=MAX_ITEMS - 1,
            initial_options=[resource_option(f.resource) for f, _ in extras] or None))]
    for index, (form, picked) in enumerate(extras, start=1):
        options = [Option(value=role, text=clip(mrkdwn.plain(role), OPTION_TEXT)) for role in form.roles[:100]]
        chosen = [o for o in options if o.value in picked]
        blocks.append(InputBlock(
            block_id=item_roles(index), label=clip(f"Roles on {form.resource.kind.value} "
                                                   f"{mrkdwn.plain(form.resource.name)}", 2000),
            element=StaticMultiSelectElement(action_id=item_roles(index), placeholder="Pick one or more roles",
                                             options=options, initial_options=chosen or None)))
    return blocks


def _form_blocks(form: RequestForm, approvers: str, *, emergency: bool, preset: tuple[str, ...] = ()) -> list[Block]:
    presets = duration_presets(form.max_duration)
    role_options = [Option(value=role, text=clip(mrkdwn.plain(role), OPTION_TEXT)) for role in form.roles[:100]]
    chosen = [o for o in role_options if o.value in preset]
    initial = next((p for p in presets if p[0] == timedelta(hours=1)), presets[-1])
    box = [_emergency_box(ticked=emergency)] if form.emergency_max_duration is not None else []
    return [
        InputBlock(block_id=ROLES, label="Roles", element=StaticMultiSelectElement(
            action_id=ROLES, placeholder="Pick one or more roles", options=role_options, initial_options=chosen or None,
        )),
        InputBlock(block_id=DURATION, label="For how long", element=StaticSelectElement(
            action_id=DURATION, placeholder="Pick a duration", initial_option=_duration_option(initial),
            options=[_duration_option(p) for p in presets],
        )),
        InputBlock(block_id=CUSTOM, label="Or a custom duration", optional=True,
                   hint=f"e.g. 90m, 3h or 1d; at most {_longest(form)}. Overrides the choice above.",
                   element=PlainTextInputElement(action_id=CUSTOM, placeholder="90m", max_length=MAX_DURATION_TEXT)),
        InputBlock(block_id=JUSTIFICATION, label="Why do you need it?", optional=not form.justification_required,
                   element=PlainTextInputElement(action_id=JUSTIFICATION, multiline=True, max_length=MAX_JUSTIFICATION,
                                                 placeholder="The incident, ticket or task this is for")),
        *_network_input(form),
        *box,
        InputBlock(block_id=START, label="Start later", optional=True,
                   hint="Leave it empty to start once approved; a later start is approved ahead.",
                   element=DateTimePickerElement(action_id=START)),
        *([InputBlock(block_id=ON_BEHALF, label="For", optional=True,
                      hint="Asking for someone else? Pick them: the access is theirs, and you both hear how it goes.",
                      element=UserSelectElement(action_id=ON_BEHALF, placeholder="Yourself"))]
          if form.for_others else []),
        ContextBlock(elements=[MarkdownTextObject(text=clip(approvers or "Approvers: unknown", SECTION_TEXT))]),
    ]  # fmt: skip


def _network_input(form: RequestForm) -> list[Block]:
    """Where a flow opens a network path: the requester's public IP address or CIDR block."""
    if form.network_prefix is None:
        return []
    return [InputBlock(
        block_id=NETWORK, label="Your public IP address or CIDR block",
        hint=(f"It goes on the project's IP access list until your access ends (at most a /{form.network_prefix}; "
              "public addresses only)."),
        element=PlainTextInputElement(action_id=NETWORK, placeholder="34.120.5.7", max_length=64))]


EMERGENCY_MODE = (":rotating_light: *Emergency access.* Pick the organization, project or cluster: where a "
                  "break-glass flow covers it, “This is an emergency” is ticked for you.")


def _emergency_box(*, ticked: bool) -> InputBlock:
    """The explicit confirmation an emergency grant needs; left unticked, the request goes to its approvers."""
    option = Option(value=EMERGENCY, text="This is an emergency (break-glass)",
                    description="Granted now without approval; the owners review it afterwards")
    return InputBlock(block_id=EMERGENCY, label="Emergency", optional=True, element=CheckboxesElement(
        action_id=EMERGENCY, options=[option], initial_options=[option] if ticked else None))


def _longest(form: RequestForm) -> str:
    glass, ordinary = form.emergency_max_duration, form.ordinary_max_duration
    if glass is None or ordinary is None or glass == ordinary:
        return format_duration(form.max_duration)
    return f"{format_duration(ordinary)} ({format_duration(glass)} in an emergency)"


def duration_presets(maximum: timedelta) -> list[tuple[timedelta, str]]:
    """The preset durations up to the flow's maximum, and the maximum itself when it is not a preset."""
    chosen = [(p, words.duration_words(int(p.total_seconds()))) for p in PRESETS if p <= maximum]
    if not chosen or chosen[-1][0] != maximum:
        chosen.append((maximum, clip(f"{words.duration_words(int(maximum.total_seconds()))} (the longest)", 75)))
    return chosen


def _duration_option(preset: tuple[timedelta, str]) -> Option:
    return Option(value=format_duration(preset[0]), text=preset[1])


def approvers_preview(form: RequestForm, *, group_mention: str | None) -> str:
    """Who will decide, as the modal previews it (and what a cluster or break-glass grant means)."""
    if form.resource.kind.value == "cluster":
        note = ("\n:key: You get a temporary database user on this cluster; a DM lets you see its password once "
                "(within 10 minutes). Atlas deletes the user at the end (7 days at most).")
        return _approvers_preview(form, group_mention) + note
    return _approvers_preview(form, group_mention)


def _approvers_preview(form: RequestForm, group_mention: str | None) -> str:
    """What happens on submit, box ticked or not: the same owners approve before, or review after."""
    if form.break_glass:
        return (":rotating_light: Only emergency (break-glass) access is offered on this resource: tick “This is "
                "an emergency” to take it. It is granted as soon as you submit, without approval, announced loudly "
                f"in the approvals channel and reviewed afterwards by {_owners(form, group_mention)}.")
    if form.auto_approved:
        usual = ":zap: Auto-approved: access is granted as soon as you submit."
    elif form.approvers.source == "resource_owner" and form.approvers.group:
        usual = f"Approvers: {_owners(form, group_mention)} (resource owner)"
    elif form.approvers.source == "resource_owner" and form.approvers.okta_group:
        usual = (f"Approvers: {_owners(form, group_mention)} (resource owner: Okta group "
                 f"{mrkdwn.line(form.approvers.okta_group)})")
    else:
        usual = f"Approvers: integration owners ({_owners(form, group_mention)})"
    if (on_call := on_call_line(form.on_call, form.on_call_limit)) is not None:
        usual += "\n" + on_call
    if form.emergency_max_duration is None:
        return usual
    return (f"{usual}\n:rotating_light: Only if you tick “This is an emergency”: break-glass, granted as soon as "
            f"you submit (up to {format_duration(form.emergency_max_duration)}) without approval, announced "
            f"loudly in the approvals channel and reviewed afterwards by {_owners(form, group_mention)}.")


def _owners(form: RequestForm, group_mention: str | None) -> str:
    if form.approvers.source == "resource_owner" and form.approvers.group:
        return group_mention or "@" + mrkdwn.line(form.approvers.group)
    return ", ".join(words.mention(u) for u in form.approvers.user_ids[:20]) or "nobody yet"


def notice_modal(text: str) -> dict[str, Any]:
    """A modal that only says something (no input, no submit)."""
    return View(type="modal", title="Atlas access", close="Close",
                blocks=[SectionBlock(text=MarkdownTextObject(text=clip(text, SECTION_TEXT)))]).to_dict()


# --- the approval message ---------------------------------------------------------------------------------


def approval_message(
    request: AccessRequest, grant: Grant | None, *, group_mention: str | None = None
) -> dict[str, Any]:
    """`text` and `blocks` of the approval message, from the stored request (and grant)."""
    if request.break_glass:
        return break_glass_message(request, grant, group_mention=group_mention)
    blocks: list[Block] = [
        *on_call_blocks(request, _approvers(request, group_mention)),
        SectionBlock(text=MarkdownTextObject(text=clip(
            f"{words.asker_words(request)} asks for {words.roles_words(request.roles)} on "
            f"{words.resource_words(request)} for {words.duration_words(request.duration_seconds)}.", SECTION_TEXT))),
        SectionBlock(fields=[MarkdownTextObject(text=clip(f, 2000)) for f in _fields(request, group_mention)]),
    ]
    if request.justification:
        blocks.append(SectionBlock(text=MarkdownTextObject(
            text=clip("*Justification*\n" + mrkdwn.quote(request.justification), SECTION_TEXT))))
    if (steps := words.steps_words(request)) is not None:
        blocks.append(SectionBlock(block_id="approval-steps", text=MarkdownTextObject(text=clip(steps, SECTION_TEXT))))
    decision, nudged = words.decision_words(request), words.pending_words(request)
    if nudged:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=clip(nudged, SECTION_TEXT))]))
    if request.status is RequestStatus.PENDING:
        blocks.append(decide_actions(request))
    elif decision:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=clip(decision, SECTION_TEXT))))
    if grant is not None:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=f"*Access:* {words.grant_words(grant)}")))
    blocks += revoke_actions(grant)
    blocks.append(ContextBlock(elements=[MarkdownTextObject(
        text=f"Request #{request.id} · {mrkdwn.line(request.integration)} · flow {mrkdwn.line(request.flow)} · "
             f"asked {words.when(request.created_at)}"
    )]))  # fmt: skip
    text = on_call_summary(request, _approvers(request, group_mention)) or _summary(request, grant)
    return {"text": clip(text, 3000), "blocks": [b.to_dict() for b in blocks]}


def decide_actions(request: AccessRequest) -> ActionsBlock:
    """A waiting request's buttons: Approve, Approve for… and Deny, each carrying only the request's id."""
    return ActionsBlock(block_id=f"decide-{request.id}", elements=[
        ButtonElement(text="Approve", action_id=APPROVE, value=str(request.id), style="primary"),
        ButtonElement(text="Approve for…", action_id=APPROVE_FOR, value=str(request.id)),
        ButtonElement(text="Deny", action_id=DENY, value=str(request.id), style="danger"),
    ])  # fmt: skip


def group_approval_message(
    items: list[tuple[AccessRequest, Grant | None]], *, group_mention: str | None = None
) -> dict[str, Any]:
    """The approval message of one owner group's items of a request of several resources: what is asked, then each
    item with its own state and buttons (Approve, Approve for…, Deny), rendered from the stored items."""
    first = items[0][0]
    ends = f", all ending {words.when(first.ends_at)}" if first.ends_at is not None else ""
    start = f", starting {words.when(first.starts_at)}" if first.starts_at is not None else ""
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=clip(
            f"{words.asker_words(first)} asks for access to several resources in one request "
            f"({words.duration_words(first.duration_seconds)}{start}{ends}). {_approvers(first, group_mention)}: "
            f"{'these are yours to decide' if len(items) > 1 else 'this one is yours to decide'}, each on its own.",
            SECTION_TEXT))),
    ]
    if first.justification:
        blocks.append(SectionBlock(text=MarkdownTextObject(
            text=clip("*Justification*\n" + mrkdwn.quote(first.justification), SECTION_TEXT))))
    for index, (request, grant) in enumerate(items, start=1):
        state = words.status_words(request, grant)
        lines = [f"*{index}. {words.roles_words(request.roles)} on {words.resource_words(request)}* "
                 f"({mrkdwn.line(request.integration)}, flow {mrkdwn.line(request.flow)}) — request #{request.id}",
                 f"*Status:* {state} · *Approvals:* {_approvals(request)}"]
        if (steps := words.steps_words(request)) is not None:
            lines.append(steps)
        if request.status is not RequestStatus.PENDING and (decision := words.decision_words(request)):
            lines.append(decision)
        blocks.append(SectionBlock(block_id=f"item-{request.id}",
                                   text=MarkdownTextObject(text=clip("\n".join(lines), SECTION_TEXT))))
        if request.status is RequestStatus.PENDING:
            blocks.append(decide_actions(request))
        blocks += revoke_actions(grant)
    waiting = [r for r, _ in items if r.status is RequestStatus.PENDING]
    if len(waiting) > 1:
        blocks.append(ActionsBlock(block_id="decide-all", elements=[ButtonElement(
            text=f"Approve all {len(waiting)} waiting", action_id=APPROVE_ALL, value=str(waiting[0].id),
            style="primary")]))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=clip(
        f"One request of several resources · {len(items)} item(s) here · asked {words.when(first.created_at)} · "
        "each item is granted as soon as it is approved", SECTION_TEXT))]))
    text = (f"Access request from {words.asker_words(first)}: "
            + "; ".join(f"#{r.id} {mrkdwn.line(r.resource_name)} — {words.status_words(r, g)}" for r, g in items))
    return {"text": clip(text, 3000), "blocks": [b.to_dict() for b in blocks[:50]]}


def _fields(request: AccessRequest, group_mention: str | None) -> list[str]:
    return [
        f"*Resource*\n{words.resource_words(request)} ({mrkdwn.line(request.integration)})",
        f"*Roles*\n{words.roles_words(request.roles)}",
        f"*Duration*\n{'+' if request.extends_grant_id else ''}{words.duration_words(request.duration_seconds)}"
        + (f" (extends grant #{request.extends_grant_id})" if request.extends_grant_id else ""),
        *([f"*Starts*\n{words.when(request.starts_at)} (scheduled)"] if request.starts_at is not None else []),
        f"*Approvers*\n{_approvers(request, group_mention)}",
        f"*Approvals*\n{_approvals(request)}",
        f"*Status*\n{request.status.value}",
    ] + ([f"*Network*\n{mrkdwn.code(request.network_entry)} on the IP access list until the access ends"]
         if request.network_entry else [])


def _approvers(request: AccessRequest, group_mention: str | None) -> str:
    if request.approver_group:
        return group_mention or f"@{mrkdwn.line(request.approver_group)}"
    if not request.approvers:
        return "auto-approved"
    return ", ".join(words.mention(u) for u in request.approvers[:30])


def _approvals(request: AccessRequest) -> str:
    if request.decided_by == "auto":
        return "not needed"
    given = len(request.approvals)
    who = ", ".join(words.mention(a.user_id) + (f" for {words.duration_words(a.seconds)}" if a.seconds else "")
                    for a in request.approvals)
    return f"{given} of {request.approvals_required}" + (f" ({who})" if who else "")


def _summary(request: AccessRequest, grant: Grant | None) -> str:
    state = words.grant_words(grant) if grant is not None else request.status.value
    return (f"Access request #{request.id} from {words.asker_words(request)}: "
            f"{mrkdwn.line(', '.join(request.roles))} on {request.resource_kind.value} "
            f"{mrkdwn.line(request.resource_name)} — {state}")


# --- deny, help, list -------------------------------------------------------------------------------------


def deny_modal(request_id: int) -> dict[str, Any]:
    return View(type="modal", callback_id=DENY_CALLBACK, title="Deny request", submit="Deny", close="Cancel",
                private_metadata=str(request_id), blocks=[
                    InputBlock(block_id=REASON, label="Why? The requester will see this.",
                               element=PlainTextInputElement(action_id=REASON, multiline=True, max_length=MAX_REASON)),
                ]).to_dict()  # fmt: skip


def approve_for_modal(request: AccessRequest, *, reason_required: bool) -> dict[str, Any]:
    """"Approve for…": a duration up to what was asked (all of it by default), and a reason for the requester."""
    asked = timedelta(seconds=request.duration_seconds)
    presets = [(d, label.replace("(the longest)", "(all that was asked)")) for d, label in duration_presets(asked)]
    about = (f"{words.mention(request.requester_id)} asks for {words.roles_words(request.roles)} on "
             f"{words.resource_words(request)} for {words.duration_words(request.duration_seconds)}. You may "
             "approve for less time.")
    return View(type="modal", callback_id=APPROVE_FOR_CALLBACK, title="Approve for…", submit="Approve",
                close="Cancel", private_metadata=str(request.id), blocks=[
        SectionBlock(text=MarkdownTextObject(text=clip(about, SECTION_TEXT))),
        InputBlock(block_id=DURATION, label="Approve for", element=StaticSelectElement(
            action_id=DURATION, options=[_duration_option(p) for p in presets],
            initial_option=_duration_option(presets[-1]))),
        InputBlock(block_id=REASON, label="Why? The requester will see this.", optional=not reason_required,
                   hint="This access flow needs a reason with every approval." if reason_required else None,
                   element=PlainTextInputElement(action_id=REASON, multiline=True, max_length=MAX_REASON)),
    ]).to_dict()  # fmt: skip


HELP = (
    "*atlas-access* gives you temporary, approved access to MongoDB Atlas.\n"
    "• `/atlas-access` — ask for access: pick an organization, project or cluster, the roles, how long and why. "
    "On a cluster you get a temporary database user; its password comes by DM, once. You may add more resources to "
    "the same request (or pick a bundle): each is approved by its own owners and granted once approved, and all of "
    "them end together.\n"
    "• `/atlas-access emergency` — the same, with “This is an emergency” ticked: where a break-glass flow allows "
    "it, access is granted at once without approval and the owners review it afterwards.\n"
    "• `/atlas-access list` — your requests and the access you hold now.\n"
    "• `/atlas-access cancel <id>` — withdraw a request that is still pending.\n"
    "• `/atlas-access help` — this text.\n"
    "Your Atlas username is the email on your Slack profile. Access ends by itself when its time is up."
)


def help_message(prefix: str = "") -> dict[str, Any]:
    return {"text": clip(prefix + HELP, SECTION_TEXT),
            "blocks": [SectionBlock(text=MarkdownTextObject(text=clip(prefix + HELP, SECTION_TEXT))).to_dict()]}


def list_message(mine: MyAccess) -> dict[str, Any]:
    """`/atlas-access list`: the access held now, then the latest requests."""
    grants = [f"• {words.roles_words(g.roles)} on {words.resource_words(g)} — {words.grant_words(g)} "
              f"(request #{g.request_id})" for g in mine.grants]
    by_request = {g.request_id: g for g in mine.grants}
    requests = [f"• #{r.id} {words.roles_words(r.roles)} on {words.resource_words(r)} — "
                f"{words.status_words(r, by_request.get(r.id or 0))}" for r in mine.requests]
    held = "\n".join(grants) or "You hold no access through atlas-access right now."
    asked = "\n".join(requests) or "You have not asked for anything yet. Type `/atlas-access` to ask."
    blocks = [SectionBlock(text=MarkdownTextObject(text=clip(f"*Your access*\n{held}", SECTION_TEXT))),
              SectionBlock(text=MarkdownTextObject(text=clip(f"*Your latest requests*\n{asked}", SECTION_TEXT)))]
    return {"text": clip(f"Your access: {len(grants)} live grant(s)", 3000), "blocks": [b.to_dict() for b in blocks]}

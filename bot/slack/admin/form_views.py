"""The integration and access flow modals, rendered from drafts (see `drafts`); secrets are never put back in.

Every input's block id equals its action id (`ids.I_*`, `ids.F_*`), which is what field errors are keyed by.
`private_metadata` carries only the name being edited.
"""

from __future__ import annotations

import json

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ContextBlock,
    ConversationFilter,
    ConversationSelectElement,
    InputBlock,
    MarkdownTextObject,
    Option,
    OptionGroup,
    PlainTextInputElement,
    RadioButtonsElement,
    SectionBlock,
    StaticMultiSelectElement,
    StaticSelectElement,
    UserMultiSelectElement,
)
from slack_sdk.models.views import View

from access.config import MAX_BUNDLES, MAX_ITEMS
from access.model import ORG_ROLES, PROJECT_ROLES, ResourceKind
from bot.slack import mrkdwn
from bot.slack.admin import ids
from bot.slack.admin.connection_fields import connection_blocks
from bot.slack.admin.drafts import DISCOVERY_TYPES, FlowDraft, IntegrationDraft
from bot.slack.views import OPTION_TEXT, SECTION_TEXT, clip

CREDENTIAL_TYPES = {"api_key": "API key", "service_account": "Service account"}
ATTRIBUTES = {"slack_usergroup": "Slack user group handle", "okta_group": "Okta group name"}
APPROVALS = {"owners": "The resource's owners approve", "auto": "Approved automatically"}
JUSTIFICATIONS = {"required": "Required", "optional": "Optional"}
APPROVAL_REASONS = {"optional": "Optional", "required": "Required with every approval"}
NETWORK = {"none": "None: the project's IP access list is left as it is",
           "requester_ip": "The requester's IP address, on the access list until the grant ends"}
AUTH = {"password": "A password (SCRAM)",
        "x509": "An X.509 certificate made by Atlas (for the grant's length, rounded up to months)"}
RESOURCE_KINDS = {kind.value: f"{kind.value.capitalize()}s" for kind in ResourceKind}
BUNDLES_FIELD = 3000  # the most a plain-text input holds (Slack's limit): longer bundles are shown read-only


def _options(choices: dict[str, str] | tuple[str, ...]) -> list[Option]:
    pairs = choices.items() if isinstance(choices, dict) else ((c, c.capitalize()) for c in choices)
    return [Option(value=value, text=clip(label, OPTION_TEXT)) for value, label in pairs]


def _chosen(options: list[Option], values: tuple[str, ...] | list[str]) -> list[Option] | None:
    """The options for `values`, in the order of `values` (a saved list reads back as it was written)."""
    by_value = {o.value: o for o in options}
    chosen = [by_value[value] for value in values if value in by_value]
    return chosen or None


def _text_input(block_id: str, label: str, value: str, *, optional: bool = False, hint: str | None = None,
                multiline: bool = False, max_length: int = 3000, placeholder: str | None = None) -> InputBlock:
    return InputBlock(block_id=block_id, label=label, optional=optional, hint=hint, element=PlainTextInputElement(
        action_id=block_id, initial_value=value or None, multiline=multiline, max_length=max_length,
        placeholder=placeholder))


def _notice(text: str | None) -> list[Block]:
    return [SectionBlock(block_id="admin_notice", text=MarkdownTextObject(text=clip(text, SECTION_TEXT)))] if text \
        else []


def _metadata(name: str, editing: bool) -> str:
    return json.dumps({"name": name}) if editing else ""


# --- the integration modal ----------------------------------------------------------------------------------------


def integration_modal(draft: IntegrationDraft, *, result: str | None = None, notice: str | None = None
                      ) -> dict[str, object]:
    """Every setting of an integration; `result` is the last "Test connection" answer, shown under its button."""
    blocks = _notice(notice) + _identity(draft) + _credential_blocks(draft, result) + _integration_settings(draft)
    return View(type="modal", callback_id=ids.INTEGRATION, title="Edit integration" if draft.editing
                else "New integration", submit="Save", close="Cancel", blocks=blocks,
                private_metadata=_metadata(draft.name, draft.editing)).to_dict()


def _identity(draft: IntegrationDraft) -> list[Block]:
    discovery = _options(DISCOVERY_TYPES)
    name: Block = (SectionBlock(text=MarkdownTextObject(text=f"Integration *{draft.name}*")) if draft.editing
                   else _text_input(ids.I_NAME, "Integration name", draft.name, max_length=64,
                                    hint="Unique; letters, digits, - and _."))
    return [
        name,
        _text_input(ids.I_ORG, "Atlas organization ID", draft.organization_id, max_length=24,
                    hint="24 hexadecimal characters, from Organization Settings in Atlas."),
        InputBlock(block_id=ids.I_DISCOVERY, label="Resources to discover", element=CheckboxesElement(
            action_id=ids.I_DISCOVERY, options=discovery, initial_options=_chosen(discovery, draft.discovery))),
    ]  # fmt: skip


def _credential_blocks(draft: IntegrationDraft, result: str | None) -> list[Block]:
    kinds = _options(CREDENTIAL_TYPES)
    keep = " Leave blank to keep the stored one." if draft.editing else ""
    id_hint = f"Now read from ${draft.credential_env.replace(' / ', ' and $')}.{keep}" if draft.credential_env \
        else "Not secret: it names the credential."
    blocks: list[Block] = [
        InputBlock(block_id=ids.I_CRED_TYPE, label="Credentials", element=RadioButtonsElement(
            action_id=ids.I_CRED_TYPE, options=kinds, initial_option=(_chosen(kinds, [draft.credential_type]) or
                                                                     [kinds[0]])[0])),
        _text_input(ids.I_CRED_ID, "Public key or client ID", draft.credential_id, optional=draft.editing,
                    hint=id_hint, max_length=200),
        _text_input(ids.I_CRED_SECRET, "Private key or client secret", "", optional=draft.editing, max_length=500,
                    hint="Write-only: stored encrypted and never shown again." + keep),
        *connection_blocks(draft),  # PagerDuty and Okta, tested by the same button
        ActionsBlock(block_id="admin_connection", elements=[
            ButtonElement(text="Test connection", action_id=ids.TEST_CONNECTION, value="test")]),
    ]  # fmt: skip
    if result:
        blocks.append(ContextBlock(block_id=ids.CONNECTION_RESULT,
                                   elements=[MarkdownTextObject(text=clip(result, 2000))]))
    return blocks


def _integration_settings(draft: IntegrationDraft) -> list[Block]:
    attributes = _options(ATTRIBUTES)
    return [
        InputBlock(block_id=ids.I_CHANNEL, label="Approval channel", element=ConversationSelectElement(
            action_id=ids.I_CHANNEL, initial_conversation=draft.approval_channel or None,
            filter=ConversationFilter(include=["public", "private"], exclude_bot_users=True))),
        _text_input(ids.I_ROTATION, "Rotate the credential every … days", draft.rotation_days, optional=True,
                    max_length=24, hint="1 to 365; leave empty for no scheduled rotation."),  # 24: any stored value
        _text_input(ids.I_DETAILS, "Custom access details", draft.access_details, optional=True, multiline=True,
                    max_length=2000, hint="Shown to people when their access is granted."),
        InputBlock(block_id=ids.I_OWNER_USERS, label="Integration owners: people", optional=True,
                   element=UserMultiSelectElement(action_id=ids.I_OWNER_USERS,
                                                  initial_users=list(draft.owner_users) or None)),
        _text_input(ids.I_OWNER_GROUPS, "Integration owners: user groups", draft.owner_others, optional=True,
                    max_length=1000, placeholder="@atlas-admins",
                    hint="Slack user groups (@handle or S… id), emails, or okta:<Okta group name>, separated by "
                         "commas."),
        _text_input(ids.I_TAG_KEY, "Resource owner: project tag key", draft.tag_key, optional=True, max_length=255,
                    hint="Projects with this tag are approved by the user group (or Okta group) its value names. "
                         "Needs an integration owner, who decides for untagged projects."),
        InputBlock(block_id=ids.I_ATTRIBUTE, label="Resource owner: the tag value is a", optional=True,
                   element=StaticSelectElement(action_id=ids.I_ATTRIBUTE, options=attributes,
                                               initial_option=(_chosen(attributes, [draft.attribute])
                                                               or attributes)[0])),
        *_unmanaged_roles(draft),
    ]  # fmt: skip


def _unmanaged_roles(draft: IntegrationDraft) -> list[Block]:
    option = _options({"on": "Remove them at reconciliation"})
    return [InputBlock(block_id=ids.I_REMOVE_UNMANAGED, label="Roles added outside the bot", optional=True,
                       element=CheckboxesElement(action_id=ids.I_REMOVE_UNMANAGED, options=option,
                                                 initial_options=option if draft.remove_unmanaged else None),
                       hint="Roles an access flow hands out, found in Atlas with no grant behind them, are always "
                            "reported to the integration owners; ticked, they are also removed.")]


# --- the access flow modal ------------------------------------------------------------------------------------------


def flow_modal(draft: FlowDraft, *, integrations: list[str], extra_roles: tuple[str, ...] = (),
               notice: str | None = None) -> dict[str, object]:
    """Every field of an access flow, as `config apply` knows them; `integrations` must not be empty."""
    blocks = _notice(notice) + _flow_who(draft, integrations) + _flow_what(draft, extra_roles) + _flow_how(draft)
    blocks += _flow_bundles(draft)
    return View(type="modal", callback_id=ids.FLOW, title="Edit access flow" if draft.editing else "New access flow",
                submit="Save", close="Cancel", blocks=blocks,
                private_metadata=_metadata(draft.name, draft.editing)).to_dict()


def _flow_bundles(draft: FlowDraft) -> list[Block]:
    """The flow's bundles, one a line, to edit; read-only when they are longer than a field holds (saving the modal
    keeps them as stored then: change them with `config apply`)."""
    text = draft.bundles or ""
    if len(text) > BUNDLES_FIELD:
        return [ContextBlock(elements=[MarkdownTextObject(text=clip(
            "*Bundles* (too long to edit here: change them in the YAML with `config apply`)\n" + mrkdwn.text(text),
            3000))])]
    return [_text_input(ids.F_BUNDLES, "Bundles", text, optional=True, max_length=BUNDLES_FIELD, multiline=True,
                        placeholder="incident-payments: payments (GROUP_READ_ONLY); payments/orders-db (readWrite)",
                        hint="Named sets of resources and roles the request modal fills in at once. One a line: a "
                             "name, a colon, then each resource with its roles in brackets, separated by `;` "
                             f"(at most {MAX_BUNDLES} bundles of {MAX_ITEMS} resources).")]


def _flow_who(draft: FlowDraft, integrations: list[str]) -> list[Block]:
    names = _options({name: name for name in integrations})
    everyone = _options({"everyone": "Everyone in this workspace"})
    name: Block = (SectionBlock(text=MarkdownTextObject(text=f"Access flow *{draft.name}*")) if draft.editing
                   else _text_input(ids.F_NAME, "Access flow name", draft.name, max_length=64,
                                    hint="Unique; letters, digits, - and _."))
    return [
        name,
        InputBlock(block_id=ids.F_INTEGRATION, label="Integration", element=StaticSelectElement(
            action_id=ids.F_INTEGRATION, options=names,
            initial_option=next((o for o in names if o.value == draft.integration), None))),
        InputBlock(block_id=ids.F_EVERYONE, label="Who may ask", optional=True, element=CheckboxesElement(
            action_id=ids.F_EVERYONE, options=everyone, initial_options=everyone if draft.everyone else None)),
        InputBlock(block_id=ids.F_USERS, label="…or these people", optional=True, element=UserMultiSelectElement(
            action_id=ids.F_USERS, initial_users=list(draft.requester_users) or None)),
        _text_input(ids.F_GROUPS, "…or these user groups", draft.requester_others, optional=True, max_length=1000,
                    hint="Slack user groups (@handle or S… id) or emails, separated by commas."),
    ]  # fmt: skip


def _flow_what(draft: FlowDraft, extra_roles: tuple[str, ...]) -> list[Block]:
    kinds = _options(RESOURCE_KINDS)
    org_options = _options({r: r for r in ORG_ROLES})
    project_options = _options({r: r for r in dict.fromkeys([*PROJECT_ROLES, *extra_roles])})
    groups = [OptionGroup(label="Organization roles", options=org_options),
              OptionGroup(label="Project roles", options=project_options[:100])]
    listed = {o.value for o in org_options + project_options}
    typed = ", ".join(role for role in draft.roles if role not in listed)
    return [
        InputBlock(block_id=ids.F_TYPES, label="Resource types", element=CheckboxesElement(
            action_id=ids.F_TYPES, options=kinds, initial_options=_chosen(kinds, draft.types))),
        _text_input(ids.F_NAMES, "Resource names", draft.names, max_length=1000,
                    hint="Names or patterns separated by commas: * for all, pay* for names starting with pay."),
        _text_input(ids.F_TAGS, "Only resources tagged", draft.tags, optional=True, max_length=1000,
                    placeholder="env=prod, team=payments", hint="Projects must carry every tag given here."),
        InputBlock(block_id=ids.F_ROLES, label="Roles people may ask for", optional=True,
                   element=StaticMultiSelectElement(action_id=ids.F_ROLES, option_groups=groups,
                                                    initial_options=_chosen(org_options + project_options,
                                                                            draft.roles))),
        _text_input(ids.F_OTHER_ROLES, "…and other roles", typed, optional=True, max_length=1000,
                    placeholder="read@orders, readWriteAnyDatabase",
                    hint="Database roles for clusters (role@database), or a project role not listed above."),
    ]  # fmt: skip


def _flow_how(draft: FlowDraft) -> list[Block]:
    approvals, justifications, enabled = _options(APPROVALS), _options(JUSTIFICATIONS), _options({"on": "Enabled"})
    reasons = _options(APPROVAL_REASONS)
    return [
        _text_input(ids.F_DURATION, "Longest duration", draft.max_duration, max_length=20,
                    hint="e.g. 30m, 8h, 1d or 1h30m; at most 365d."),
        InputBlock(block_id=ids.F_APPROVAL, label="Approval", element=RadioButtonsElement(
            action_id=ids.F_APPROVAL, options=approvals,
            initial_option=(_chosen(approvals, [draft.approval]) or approvals)[0])),
        _text_input(ids.F_APPROVALS, "Approvals needed", draft.approvals_required, max_length=2,
                    hint="From 1 to 10 different approvers."),
        _text_input(ids.F_STEPS, "Approval steps (instead of one list)", draft.approval_steps, optional=True,
                    max_length=2000, multiline=True, placeholder="owners: 1\n@atlas-security: 1",
                    hint="One step a line, in order: `owners` or people and groups, then how many must approve. "
                         "Each step waits for the one before."),
        InputBlock(block_id=ids.F_JUSTIFICATION, label="Justification", element=RadioButtonsElement(
            action_id=ids.F_JUSTIFICATION, options=justifications,
            initial_option=(_chosen(justifications, [draft.justification]) or justifications)[0])),
        InputBlock(block_id=ids.F_APPROVAL_REASON, label="Approver's reason", element=RadioButtonsElement(
            action_id=ids.F_APPROVAL_REASON, options=reasons,
            initial_option=(_chosen(reasons, [draft.approval_reason]) or reasons)[0])),
        *_break_glass(draft),
        *_network(draft),
        InputBlock(block_id=ids.F_ENABLED, label="State", optional=True, element=CheckboxesElement(
            action_id=ids.F_ENABLED, options=enabled, initial_options=enabled if draft.enabled else None),
            hint="A disabled flow is kept, but nobody can ask through it."),
    ]  # fmt: skip


def _network(draft: FlowDraft) -> list[Block]:
    choices = _options(NETWORK)
    return [
        InputBlock(block_id=ids.F_NETWORK, label="Network path (cluster flows)", element=RadioButtonsElement(
            action_id=ids.F_NETWORK, options=choices,
            initial_option=(_chosen(choices, [draft.network_access]) or choices)[0]),
            hint="The requester gives a public IP address or CIDR block in the request; Atlas deletes the entry "
                 "at the grant's expiry, the bot at revocation."),
        _text_input(ids.F_NETWORK_PREFIX, "Widest block a requester may give", draft.network_max_prefix,
                    optional=True, max_length=3, hint="An IPv4 prefix length from 16 to 32 (24: at most a /24)."),
        InputBlock(block_id=ids.F_AUTH, label="Database sign-in (cluster flows)", element=RadioButtonsElement(
            action_id=ids.F_AUTH, options=_options(AUTH),
            initial_option=(_chosen(_options(AUTH), [draft.auth]) or _options(AUTH))[0]),
            hint="How the temporary database user signs in; shown once to the requester either way."),
    ]  # fmt: skip


def _break_glass(draft: FlowDraft) -> list[Block]:
    option = _options({"on": "Break glass"})
    return [InputBlock(block_id=ids.F_BREAK_GLASS, label="Emergencies", optional=True, element=CheckboxesElement(
        action_id=ids.F_BREAK_GLASS, options=option, initial_options=option if draft.break_glass else None),
        hint="Granted at once without approval, announced to the owners, who review it afterwards.")]

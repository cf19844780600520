"""The integration modal's PagerDuty and Okta fields: the connections' public parts shown back, their secrets
write-only (never put back in; blank keeps the stored one), and a box to remove each connection.

"Test connection" (bot.slack.admin.form_listeners) checks these too, with what is typed or else what is stored.
"""

from __future__ import annotations

from slack_sdk.models.blocks import (
    Block,
    CheckboxesElement,
    DividerBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    SectionBlock,
)

from access.bounds import MAX_SECRET
from access.connections import MAX_OKTA_URL, MAX_PRIVATE_KEY
from bot.slack.admin import ids
from bot.slack.admin.drafts import IntegrationDraft

# Slack caps a text input at 3,000 characters: a PEM key of up to 3072 bits fits; a longer one goes in the config
# file (up to MAX_PRIVATE_KEY), or in an environment variable it names.
MODAL_SECRET = min(3000, MAX_PRIVATE_KEY)
OKTA_TYPES = {"api_token": "API token (SSWS)", "service_app": "Service app (OAuth 2.0, private key JWT)"}


def _stored_hint(stored: str, what: str) -> str:
    if not stored:
        return f"Write-only: stored encrypted and never shown again. Leave blank for no {what}."
    if stored == "literal":
        return "Write-only: a key is stored (encrypted). Leave blank to keep it."
    return f"Now read from ${stored}. Leave blank to keep that."


def connection_blocks(draft: IntegrationDraft) -> list[Block]:
    return [DividerBlock(), *_pagerduty(draft), *_okta(draft)]


def _pagerduty(draft: IntegrationDraft) -> list[Block]:
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=(
            "*PagerDuty* (optional): for flows that approve whoever is on call. A read-only REST API key; the API's "
            "address is the server's PAGERDUTY_API_URL."))),
        InputBlock(block_id=ids.I_PD_KEY, label="PagerDuty REST API key", optional=True,
                   hint=_stored_hint(draft.pagerduty_stored, "PagerDuty connection"),
                   element=PlainTextInputElement(action_id=ids.I_PD_KEY, max_length=MAX_SECRET)),
    ]
    if draft.pagerduty_stored:
        blocks.append(_remove_box(ids.I_PD_REMOVE, "Remove the PagerDuty connection"))
    return blocks


def _okta(draft: IntegrationDraft) -> list[Block]:
    kinds = [Option(value=value, text=label) for value, label in OKTA_TYPES.items()]
    chosen = next((o for o in kinds if o.value == draft.okta_type), kinds[0])
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=(
            "*Okta* (optional): for owners named by Okta groups (`okta:<group>` owners, or the resource owner tag "
            "naming an Okta group). Members are matched to Slack users by email."))),
        InputBlock(block_id=ids.I_OKTA_URL, label="Okta org URL", optional=True, hint="e.g. https://acme.okta.com",
                   element=PlainTextInputElement(action_id=ids.I_OKTA_URL, initial_value=draft.okta_url or None,
                                                 max_length=MAX_OKTA_URL)),
        InputBlock(block_id=ids.I_OKTA_TYPE, label="Okta credentials", optional=True,
                   element=RadioButtonsElement(action_id=ids.I_OKTA_TYPE, options=kinds, initial_option=chosen)),
        InputBlock(block_id=ids.I_OKTA_CLIENT, label="Okta service app client ID", optional=True,
                   hint="Service app only. Scopes: okta.groups.read, okta.users.read.",
                   element=PlainTextInputElement(action_id=ids.I_OKTA_CLIENT,
                                                 initial_value=draft.okta_client_id or None, max_length=200)),
        InputBlock(block_id=ids.I_OKTA_KEY_ID, label="Okta service app key ID (kid)", optional=True,
                   element=PlainTextInputElement(action_id=ids.I_OKTA_KEY_ID, initial_value=draft.okta_key_id or None,
                                                 max_length=200)),
        InputBlock(block_id=ids.I_OKTA_SECRET, label="Okta API token or private key (PEM)", optional=True,
                   hint=_stored_hint(draft.okta_stored, "Okta connection"),
                   element=PlainTextInputElement(action_id=ids.I_OKTA_SECRET, multiline=True,
                                                 max_length=MODAL_SECRET)),
    ]
    if draft.okta_stored:
        blocks.append(_remove_box(ids.I_OKTA_REMOVE, "Remove the Okta connection"))
    return blocks


def _remove_box(block_id: str, label: str) -> InputBlock:
    option = [Option(value="on", text=label)]
    return InputBlock(block_id=block_id, label="Remove", optional=True,
                      element=CheckboxesElement(action_id=block_id, options=option))

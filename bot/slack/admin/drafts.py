"""What the admin modals show and send back: drafts of an integration or an access flow, as plain field values.

A draft is read from a stored spec (to fill a modal) or from a view's state (what the admin typed); the modal
is rendered from a draft, and `forms` turns a draft into a validated spec. A draft never holds a secret: the
secret field is read on its own (`typed_secret`) and never shown back.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Any

from access.config import EVERYONE, AccessFlowSpec, ApiKeyCredentials, IntegrationSpec, format_duration
from access.connections import OktaApiToken, OktaServiceApp
from access.model import DiscoveryType
from access.network import DEFAULT_WIDEST_V4
from bot.slack.admin import ids

DISCOVERY_TYPES = tuple(kind.value for kind in DiscoveryType)
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_SEPARATORS = re.compile(r"[,\s]+")


@dataclass(frozen=True, kw_only=True)
class IntegrationDraft:
    name: str = ""
    editing: bool = False  # an existing integration: its name is fixed, blank secrets keep the stored ones
    organization_id: str = ""
    discovery: tuple[str, ...] = DISCOVERY_TYPES
    credential_type: str = "api_key"
    credential_id: str = ""  # the public key or client id (not secret)
    credential_env: str = ""  # "PUBLIC_ENV / SECRET_ENV" when the stored credentials come from the environment
    approval_channel: str = ""
    rotation_days: str = ""
    access_details: str = ""
    owner_users: tuple[str, ...] = ()
    owner_others: str = ""  # user groups (@handle, S…) and emails, comma separated
    tag_key: str = ""
    attribute: str = "slack_usergroup"
    remove_unmanaged: bool = False  # reconciliation removes roles added outside the bot, not only reports them
    # The PagerDuty and Okta connections, public parts only (their secrets are read on their own, never shown).
    pagerduty_stored: str = ""  # "" none; "literal" a key stored encrypted; else the environment variable's name
    pagerduty_remove: bool = False
    okta_url: str = ""
    okta_type: str = "api_token"  # or "service_app"
    okta_client_id: str = ""
    okta_key_id: str = ""
    okta_stored: str = ""  # "" none; "literal"; else the environment variable's name(s)
    okta_remove: bool = False


@dataclass(frozen=True, kw_only=True)
class FlowDraft:
    name: str = ""
    editing: bool = False
    integration: str = ""
    everyone: bool = True
    requester_users: tuple[str, ...] = ()
    requester_others: str = ""
    types: tuple[str, ...] = ("project",)
    names: str = "*"
    tags: str = ""
    roles: tuple[str, ...] = ()  # the picked ones and the typed ones (database roles, new project roles)
    max_duration: str = "8h"
    approval: str = "owners"
    approvals_required: str = "1"
    justification: str = "required"
    approval_reason: str = "optional"
    approval_steps: str = ""  # one step a line: `owners: 1`, `@atlas-security, U0ABC: 2`
    break_glass: bool = False
    network_access: str = "none"  # or "requester_ip" (cluster flows: the requester's IP on the access list)
    network_max_prefix: str = str(DEFAULT_WIDEST_V4)  # the widest IPv4 block a requester may give, as typed
    auth: str = "password"  # or "x509" (cluster flows: an Atlas-managed X.509 user and its certificate)
    enabled: bool = True
    # The flow's bundles, one a line (`name: resource (ROLE, ROLE); resource (ROLE)`); None when the modal did not
    # show them for editing (too long for its field: they are kept as stored).
    bundles: str | None = ""


# --- from stored specs -----------------------------------------------------------------------------------------


def integration_draft(spec: IntegrationSpec) -> IntegrationDraft:
    creds = spec.credentials
    if isinstance(creds, ApiKeyCredentials):
        shown, id_env, secret_env = creds.public_key, creds.public_key_env, creds.private_key_env
    else:
        shown, id_env, secret_env = creds.client_id, creds.client_id_env, creds.client_secret_env
    envs = " / ".join(name for name in (id_env, secret_env) if name)
    users, others = split_principals(spec.integration_owners)
    owner = spec.resource_owner
    return replace(IntegrationDraft(
        name=spec.name, editing=True, organization_id=spec.organization_id,
        discovery=tuple(d.value for d in spec.discovery), credential_type=creds.type, credential_id=shown or "",
        credential_env=envs, approval_channel=spec.approval_channel,
        rotation_days=str(spec.credential_rotation_days or ""), access_details=spec.custom_access_details or "",
        owner_users=users, owner_others=", ".join(others), tag_key=owner.tag_key if owner else "",
        attribute=owner.attribute if owner else "slack_usergroup", remove_unmanaged=spec.remove_unmanaged_roles,
    ), **connection_fields(spec))  # fmt: skip


def connection_fields(spec: IntegrationSpec) -> dict[str, Any]:
    """The public parts of the PagerDuty and Okta connections, for the modal (never a secret)."""
    fields: dict[str, Any] = {}
    if spec.pagerduty is not None:
        fields["pagerduty_stored"] = spec.pagerduty.api_key_env or "literal"
    if spec.okta is not None:
        creds = spec.okta.credentials
        secret_env = creds.token_env if isinstance(creds, OktaApiToken) else creds.private_key_env
        fields |= {"okta_url": spec.okta.org_url, "okta_type": creds.type, "okta_stored": secret_env or "literal"}
        if isinstance(creds, OktaServiceApp):
            fields |= {"okta_client_id": creds.client_id or "", "okta_key_id": creds.key_id or ""}
    return fields


def flow_draft(spec: AccessFlowSpec) -> FlowDraft:
    principals = [p for p in spec.requesters if p != EVERYONE]
    users, others = split_principals(principals)
    return FlowDraft(
        name=spec.name, editing=True, integration=spec.integration, everyone=EVERYONE in spec.requesters,
        requester_users=users, requester_others=", ".join(others), types=tuple(t.value for t in spec.resources.types),
        names=", ".join(spec.resources.names), tags=", ".join(f"{k}={v}" for k, v in spec.resources.tags.items()),
        roles=tuple(spec.roles), max_duration=format_duration(spec.max_duration), approval=spec.approval,
        approvals_required=str(spec.approvals_required), justification=spec.justification, enabled=spec.enabled,
        break_glass=spec.break_glass, approval_reason=spec.approval_reason,
        approval_steps="\n".join(f"{s.approvers if isinstance(s.approvers, str) else ', '.join(s.approvers)}: "
                                 f"{s.required}" for s in spec.approval_steps or ()),
        network_access=spec.network_access or "none", network_max_prefix=str(spec.network_max_prefix),
        auth=spec.auth,
        bundles="\n".join(f"{b.name}: " + "; ".join(f"{i.resource} ({', '.join(i.roles)})" for i in b.items)
                          for b in spec.bundles),
    )  # fmt: skip


def split_principals(principals: list[str]) -> tuple[tuple[str, ...], list[str]]:
    """Slack user ids (for a users picker) apart from everything else (user groups, emails)."""
    users = tuple(p for p in principals if _USER_ID.match(p))
    return users, [p for p in principals if not _USER_ID.match(p)]


def words_of(text: str) -> list[str]:
    """A comma- or space-separated list typed into a text field."""
    return [part for part in _SEPARATORS.split(text.strip()) if part]


def owner_words(text: str) -> list[str]:
    """Owners typed into a text field: as `words_of`, but an `okta:<group name>` runs to the next comma (Okta group
    names may hold spaces)."""
    found: list[str] = []
    for part in text.split(","):
        stripped = part.strip()
        found += [stripped] if stripped.startswith("okta:") else words_of(stripped)
    return found


# --- from what the admin typed -----------------------------------------------------------------------------------


def editing_name(view: dict[str, Any]) -> str | None:
    """The name of the integration or flow being edited (the only thing private_metadata carries)."""
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return None
    name = meta.get("name") if isinstance(meta, dict) else None
    return str(name) if name else None


def integration_from_state(view: dict[str, Any]) -> IntegrationDraft:
    state = _State(view)
    editing = editing_name(view)
    return IntegrationDraft(
        name=editing or state.text(ids.I_NAME), editing=editing is not None, organization_id=state.text(ids.I_ORG),
        discovery=state.picked(ids.I_DISCOVERY), credential_type=state.one(ids.I_CRED_TYPE) or "api_key",
        credential_id=state.text(ids.I_CRED_ID), approval_channel=state.conversation(ids.I_CHANNEL),
        rotation_days=state.text(ids.I_ROTATION), access_details=state.text(ids.I_DETAILS),
        owner_users=state.users(ids.I_OWNER_USERS), owner_others=state.text(ids.I_OWNER_GROUPS),
        tag_key=state.text(ids.I_TAG_KEY), attribute=state.one(ids.I_ATTRIBUTE) or "slack_usergroup",
        remove_unmanaged=bool(state.picked(ids.I_REMOVE_UNMANAGED)),
        pagerduty_remove=bool(state.picked(ids.I_PD_REMOVE)), okta_url=state.text(ids.I_OKTA_URL),
        okta_type=state.one(ids.I_OKTA_TYPE) or "api_token", okta_client_id=state.text(ids.I_OKTA_CLIENT),
        okta_key_id=state.text(ids.I_OKTA_KEY_ID), okta_remove=bool(state.picked(ids.I_OKTA_REMOVE)),
    )  # fmt: skip


def typed_pagerduty_key(view: dict[str, Any]) -> str:
    """The PagerDuty API key as typed (blank: keep the stored one). Used, never stored in a draft."""
    return _State(view).text(ids.I_PD_KEY)


def typed_okta_secret(view: dict[str, Any]) -> str:
    """The Okta API token or private key as typed (blank: keep the stored one); a PEM keeps its line breaks."""
    return _State(view).text(ids.I_OKTA_SECRET)


def typed_secret(view: dict[str, Any]) -> str:
    """The private key or client secret as typed (blank: keep the stored one). Used, never stored in a draft."""
    return _State(view).text(ids.I_CRED_SECRET)


def typed_roles(view: dict[str, Any]) -> list[str]:
    """The roles typed into the flow modal's free-text field (rather than picked from the list)."""
    return words_of(_State(view).text(ids.F_OTHER_ROLES))


def flow_from_state(view: dict[str, Any]) -> FlowDraft:
    state = _State(view)
    editing = editing_name(view)
    return FlowDraft(
        name=editing or state.text(ids.F_NAME), editing=editing is not None, integration=state.one(ids.F_INTEGRATION),
        everyone=bool(state.picked(ids.F_EVERYONE)), requester_users=state.users(ids.F_USERS),
        requester_others=state.text(ids.F_GROUPS), types=state.picked(ids.F_TYPES), names=state.text(ids.F_NAMES),
        tags=state.text(ids.F_TAGS), roles=state.picked(ids.F_ROLES) + tuple(words_of(state.text(ids.F_OTHER_ROLES))),
        max_duration=state.text(ids.F_DURATION), approval=state.one(ids.F_APPROVAL),
        approvals_required=state.text(ids.F_APPROVALS), justification=state.one(ids.F_JUSTIFICATION),
        approval_reason=state.one(ids.F_APPROVAL_REASON) or "optional", approval_steps=state.text(ids.F_STEPS),
        break_glass=bool(state.picked(ids.F_BREAK_GLASS)), enabled=bool(state.picked(ids.F_ENABLED)),
        network_access=state.one(ids.F_NETWORK) or "none", network_max_prefix=state.text(ids.F_NETWORK_PREFIX),
        auth=state.one(ids.F_AUTH) or "password",
        bundles=state.text(ids.F_BUNDLES) if state.has(ids.F_BUNDLES) else None,
    )  # fmt: skip


class _State:
    """Typed reads of `view.state.values`, where every input's block id equals its action id."""

    def __init__(self, view: dict[str, Any]) -> None:
        self._values: dict[str, dict[str, Any]] = ((view.get("state") or {}).get("values")) or {}

    def _input(self, block_id: str) -> dict[str, Any]:
        return (self._values.get(block_id) or {}).get(block_id) or {}

    def text(self, block_id: str) -> str:
        return str(self._input(block_id).get("value") or "").strip()

    def has(self, block_id: str) -> bool:
        """Whether the view had this input (Slack sends every input's state, an empty one too)."""
        return block_id in self._values

    def one(self, block_id: str) -> str:
        return str((self._input(block_id).get("selected_option") or {}).get("value") or "")

    def picked(self, block_id: str) -> tuple[str, ...]:
        return tuple(str(o.get("value")) for o in self._input(block_id).get("selected_options") or [])

    def users(self, block_id: str) -> tuple[str, ...]:
        return tuple(str(u) for u in self._input(block_id).get("selected_users") or [])

    def conversation(self, block_id: str) -> str:
        return str(self._input(block_id).get("selected_conversation") or "")

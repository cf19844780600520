"""Drafts from the admin modals turned into validated specs, or into field errors keyed by the modal's block ids.

The specs are the same pydantic models `config apply` validates, so a modal and a YAML file accept and refuse
the same things; this module only adds what a form needs (friendlier words for patterns, blank secrets that
keep the stored ones, names that must be new). Error text never echoes what was typed into a secret field.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr, ValidationError

from access.bounds import ROTATION_DAYS
from access.config import (
    EVERYONE,
    NAME_PATTERN,
    AccessFlowSpec,
    ApiKeyCredentials,
    IntegrationSpec,
    ServiceAccountCredentials,
)
from access.connections import OktaServiceApp
from access.model import ResourceKind
from access.network import DEFAULT_WIDEST_V4
from bot.slack.admin import ids
from bot.slack.admin.drafts import FlowDraft, IntegrationDraft, owner_words, words_of
from bot.slack.payloads import InputErrors

_KEPT = "kept"  # stands in for a stored secret while the rest of the spec is validated
_DIGITS = re.compile(r"^[0-9]{1,9}$")  # ASCII digits, few enough for int() (str.isdigit also takes "²")
_ID_FIELD = {"api_key": "public_key", "service_account": "client_id"}
_SECRET_FIELD = {"api_key": "private_key", "service_account": "client_secret"}

INTEGRATION_BLOCKS = {
    "pagerduty": ids.I_PD_KEY, "okta": ids.I_OKTA_URL,
    "name": ids.I_NAME, "organization_id": ids.I_ORG, "credentials": ids.I_CRED_ID, "discovery": ids.I_DISCOVERY,
    "approval_channel": ids.I_CHANNEL, "credential_rotation_days": ids.I_ROTATION,
    "custom_access_details": ids.I_DETAILS, "integration_owners": ids.I_OWNER_GROUPS, "resource_owner": ids.I_TAG_KEY,
    "remove_unmanaged_roles": ids.I_REMOVE_UNMANAGED,
    "": ids.I_TAG_KEY,  # the model's own rule: a resource owner needs integration owners
}  # fmt: skip
FLOW_BLOCKS = {
    "name": ids.F_NAME, "integration": ids.F_INTEGRATION, "requesters": ids.F_GROUPS, "types": ids.F_TYPES,
    "names": ids.F_NAMES, "tags": ids.F_TAGS, "roles": ids.F_ROLES, "max_duration": ids.F_DURATION,
    "approval": ids.F_APPROVAL, "approvals_required": ids.F_APPROVALS, "justification": ids.F_JUSTIFICATION,
    "approval_reason": ids.F_APPROVAL_REASON, "approval_steps": ids.F_STEPS,
    "break_glass": ids.F_BREAK_GLASS, "network_access": ids.F_NETWORK, "network_max_prefix": ids.F_NETWORK_PREFIX,
    "auth": ids.F_AUTH, "bundles": ids.F_BUNDLES,
}  # fmt: skip
FRIENDLY = {
    ids.I_NAME: "Use 1 to 64 letters, digits, - and _ (no spaces).",
    ids.F_NAME: "Use 1 to 64 letters, digits, - and _ (no spaces).",
    ids.I_ORG: "An organization ID is 24 hexadecimal characters (0-9, a-f): see Organization Settings in Atlas.",
    ids.I_CHANNEL: "Pick the channel where approval requests are posted.",
    ids.I_DISCOVERY: "Pick what to discover: organizations, projects, or both.",
    ids.F_TYPES: "Pick at least one resource type: organization, project or cluster.",
    ids.F_ROLES: "Pick at least one role.",
    ids.F_APPROVALS: "A whole number from 1 to 10.",
    ids.F_NETWORK_PREFIX: "A prefix length from 16 to 32, e.g. 24 for at most a /24 (256 addresses).",
}
NETWORK_CHOICES = ("none", "requester_ip")
AUTH_CHOICES = ("password", "x509")
RESOURCE_OWNER_RULE = ("A resource owner needs at least one integration owner: they decide when a project has no "
                       "owner tag.")


# --- integrations ------------------------------------------------------------------------------------------------


def integration_spec(draft: IntegrationDraft, *, secret: str, stored: IntegrationSpec | None,
                     taken: Collection[str], pagerduty_key: str = "", okta_secret: str = ""
                     ) -> tuple[IntegrationSpec, bool]:
    """The spec to save and whether a blank secret keeps a stored one; InputErrors field by field."""
    errors: dict[str, str] = {}
    connections = connection_data(draft, stored=stored, pagerduty_key=pagerduty_key, okta_secret=okta_secret,
                                  errors=errors)
    if not draft.editing and draft.name in taken:
        errors[ids.I_NAME] = f"An integration named {draft.name} already exists: edit it from the list instead."
    credentials, keep = _credentials(draft, secret=secret, stored=stored, errors=errors)
    data = _integration_data(draft, stored, errors) | connections.data
    data["credentials"] = credentials or {"type": draft.credential_type, _ID_FIELD[_kind(draft)]: "x",
                                          _SECRET_FIELD[_kind(draft)]: _KEPT}
    try:
        spec = IntegrationSpec.model_validate(data)
    except ValidationError as error:
        placed = _placed(error, INTEGRATION_BLOCKS, secret_block=ids.I_CRED_SECRET)
        if ids.I_OKTA_URL in placed and any(e["loc"][:2] == ("okta", "credentials") for e in error.errors()):
            placed[ids.I_OKTA_SECRET] = placed.pop(ids.I_OKTA_URL)
        _merge(errors, placed)
        raise InputErrors(errors) from None
    if errors:
        raise InputErrors(errors)
    if keep is not None:  # validated with a stand-in secret; the stored one is kept by storage
        spec = spec.model_copy(update={"credentials": keep})
    spec = connections.kept(spec)
    return spec, keep is not None or connections.keeps


def _kind(draft: IntegrationDraft) -> str:
    return draft.credential_type if draft.credential_type in _ID_FIELD else "api_key"


Kept = ApiKeyCredentials | ServiceAccountCredentials


def _credentials(draft: IntegrationDraft, *, secret: str, stored: IntegrationSpec | None,
                 errors: dict[str, str]) -> tuple[dict[str, Any] | None, Kept | None]:
    """(credentials data to validate, or the kept-secret credentials built without their secret).

    Blank fields of an edit keep the stored values, whether literal (encrypted) or environment variable names.
    """
    kind = _kind(draft)
    same = stored is not None and draft.editing and stored.credentials.type == kind
    old = stored.credentials.model_dump() if same and stored is not None else {}
    id_field, secret_field = _ID_FIELD[kind], _SECRET_FIELD[kind]
    data: dict[str, Any] = {"type": kind}
    if draft.credential_id:
        data[id_field] = draft.credential_id
    elif old.get(id_field) or old.get(f"{id_field}_env"):
        data.update({k: old[k] for k in (id_field, f"{id_field}_env") if old.get(k)})
    else:
        errors[ids.I_CRED_ID] = "Enter the API key's public key, or the service account's client ID."
    if secret:
        return {**data, secret_field: SecretStr(secret)}, None
    if old.get(f"{secret_field}_env"):
        return {**data, f"{secret_field}_env": old[f"{secret_field}_env"]}, None
    if old.get(secret_field) is not None and ids.I_CRED_ID not in errors:
        # Built without validation on purpose: its secret is None, which storage reads as "keep the stored one".
        model = ApiKeyCredentials if kind == "api_key" else ServiceAccountCredentials
        blank = dict.fromkeys(name for name in model.model_fields if name != "type")
        return None, model.model_construct(**(blank | {k: v for k, v in data.items() if k != "type"}), type=kind)
    errors[ids.I_CRED_SECRET] = ("Enter the private key (API key) or client secret (service account)." if not same
                                 else "Enter the secret: nothing is stored to keep.")
    return None, None


def _integration_data(draft: IntegrationDraft, stored: IntegrationSpec | None, errors: dict[str, str]
                      ) -> dict[str, Any]:
    owners = list(draft.owner_users) + owner_words(draft.owner_others)
    data: dict[str, Any] = {
        "name": draft.name, "organization_id": draft.organization_id, "discovery": list(draft.discovery),
        "approval_channel": draft.approval_channel, "custom_access_details": draft.access_details or None,
        "integration_owners": owners,
        "resource_owner": {"tag_key": draft.tag_key, "attribute": draft.attribute} if draft.tag_key else None,
        "credential_rotation_days": _whole_number(draft.rotation_days, ids.I_ROTATION, errors),
        "remove_unmanaged_roles": draft.remove_unmanaged,
    }  # fmt: skip
    if draft.tag_key and not owners:
        errors[ids.I_TAG_KEY] = RESOURCE_OWNER_RULE
    if stored is not None and draft.editing:  # settings the modal does not show (enabled, ...) stay as they are
        return stored.model_dump(mode="json", exclude={"credentials"}) | data
    return data


def _whole_number(text: str, block: str, errors: dict[str, str]) -> int | None:
    if not text:
        return None
    low, high = ROTATION_DAYS
    if not _DIGITS.match(text) or not low <= int(text) <= high:
        errors[block] = f"A whole number of days from {low} to {high}, or leave it empty for no rotation."
        return None
    return int(text)


# --- the PagerDuty and Okta connections -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Connections:
    data: dict[str, Any]
    kept_fields: tuple[str, ...]  # validated with a stand-in: "pagerduty", "okta"

    @property
    def keeps(self) -> bool:
        return bool(self.kept_fields)

    def kept(self, spec: IntegrationSpec) -> IntegrationSpec:
        """The spec with each stand-in secret set to None: storage keeps the stored ciphertext."""
        update: dict[str, Any] = {}
        if "pagerduty" in self.kept_fields and spec.pagerduty is not None:
            update["pagerduty"] = spec.pagerduty.model_copy(update={"api_key": None})
        if "okta" in self.kept_fields and spec.okta is not None:
            field = "token" if spec.okta.credentials.type == "api_token" else "private_key"
            update["okta"] = spec.okta.model_copy(update={
                "credentials": spec.okta.credentials.model_copy(update={field: None})})
        return spec.model_copy(update=update) if update else spec


def connection_data(draft: IntegrationDraft, *, stored: IntegrationSpec | None, pagerduty_key: str,
                    okta_secret: str, errors: dict[str, str]) -> _Connections:
    """The `pagerduty` and `okta` values to validate: as typed, else as stored (blank secrets keep the stored
    ones, standing in as `_KEPT` while the spec is validated), else none; removed when the box is ticked."""
    old = stored if stored is not None and draft.editing else None
    data: dict[str, Any] = {"pagerduty": None, "okta": None}
    kept: list[str] = []
    if pagerduty_key and not draft.pagerduty_remove:
        data["pagerduty"] = {"api_key": SecretStr(pagerduty_key)}
    elif old is not None and old.pagerduty is not None and not draft.pagerduty_remove:
        env = old.pagerduty.api_key_env
        data["pagerduty"] = {"api_key_env": env} if env else {"api_key": SecretStr(_KEPT)}
        kept += [] if env else ["pagerduty"]
    okta = None if draft.okta_remove else _okta_data(draft, old, okta_secret, errors)
    if okta is not None:
        data["okta"], keeps = okta
        kept += ["okta"] if keeps else []
    return _Connections(data=data, kept_fields=tuple(kept))


def _okta_data(draft: IntegrationDraft, old: IntegrationSpec | None, secret: str, errors: dict[str, str]
               ) -> tuple[dict[str, Any], bool] | None:
    if not draft.okta_url:
        if secret or draft.okta_client_id:
            errors[ids.I_OKTA_URL] = "Enter the Okta org URL (https://acme.okta.com) these credentials belong to."
        return None
    kind = draft.okta_type if draft.okta_type in ("api_token", "service_app") else "api_token"
    before = old.okta.credentials if old is not None and old.okta is not None else None
    same = before if before is not None and before.type == kind else None
    field = "token" if kind == "api_token" else "private_key"
    credentials: dict[str, Any] = {"type": kind}
    if isinstance(same, OktaServiceApp) or kind == "service_app":
        client = draft.okta_client_id or (same.client_id if isinstance(same, OktaServiceApp) else None)
        client_env = same.client_id_env if isinstance(same, OktaServiceApp) and not draft.okta_client_id else None
        if client_env:
            credentials["client_id_env"] = client_env
        elif client:
            credentials["client_id"] = client
        else:
            errors[ids.I_OKTA_CLIENT] = "Enter the service app's client ID."
        credentials["key_id"] = draft.okta_key_id or None
    keeps = False
    if secret:
        credentials[field] = SecretStr(secret)
    elif same is not None and getattr(same, f"{field}_env", None):
        credentials[f"{field}_env"] = getattr(same, f"{field}_env")
    elif same is not None and getattr(same, field, None) is not None:
        credentials[field], keeps = SecretStr(_KEPT), True
    else:
        errors[ids.I_OKTA_SECRET] = ("Enter the Okta API token." if kind == "api_token"
                                     else "Enter the service app's private key (PEM).")
        credentials[field] = SecretStr(_KEPT)
    return {"org_url": draft.okta_url, "credentials": credentials}, keeps


# --- access flows ------------------------------------------------------------------------------------------------


def flow_spec(draft: FlowDraft, *, taken: Collection[str], stored: AccessFlowSpec | None = None) -> AccessFlowSpec:
    """The flow to save, validated as `config apply` validates a flow; InputErrors field by field.

    The cross-object rules (the integration exists, roles fit the resource types) are the ConfigService's:
    see `place_flow_problems` for its FieldErrors. Editing keeps what the modal does not show.
    """
    errors: dict[str, str] = {}
    if not draft.editing and draft.name in taken:
        errors[ids.F_NAME] = f"An access flow named {draft.name} already exists: edit it from the list instead."
    requesters = ([EVERYONE] if draft.everyone else []) + list(draft.requester_users) + words_of(draft.requester_others)
    if not requesters:
        errors[ids.F_EVERYONE] = "Say who may ask: everyone, or some people or user groups."
    if not draft.max_duration:
        errors[ids.F_DURATION] = "How long at most, e.g. 30m, 8h or 1d."
    data = {
        "name": draft.name, "integration": draft.integration, "requesters": requesters or [EVERYONE],
        "resources": {"types": list(draft.types), "names": [n for n in draft.names.split(",") if n.strip()] or ["*"],
                      "tags": _tags(draft.tags, errors)},
        "roles": list(draft.roles), "max_duration": draft.max_duration or "1h", "approval": draft.approval or "owners",
        "approvals_required": _count(draft.approvals_required, errors), "enabled": draft.enabled,
        "justification": draft.justification or "required", "approval_reason": draft.approval_reason or "optional",
        "approval_steps": _steps(draft.approval_steps, errors),
    }  # fmt: skip
    if "break_glass" in AccessFlowSpec.model_fields:
        data["break_glass"] = draft.break_glass
    data |= _network(draft, errors)
    data |= _auth(draft, errors)
    if draft.bundles is not None:  # shown for editing (else kept as stored)
        data["bundles"] = _bundles(draft.bundles, errors)
    if stored is not None and draft.editing:
        data = stored.model_dump(mode="json") | data
    try:
        spec = AccessFlowSpec.model_validate(data)
    except ValidationError as error:
        _merge(errors, _placed(error, FLOW_BLOCKS))
        raise InputErrors(errors) from None
    if errors:
        raise InputErrors(errors)
    return spec


def _steps(text: str, errors: dict[str, str]) -> list[dict[str, Any]] | None:
    """`owners: 1` / `@atlas-security, U0ABC: 2`, one step a line, as the YAML's approval_steps; None when empty."""
    steps: list[dict[str, Any]] = []
    for line in (raw.strip() for raw in text.splitlines() if raw.strip()):
        who, colon, count = line.rpartition(":")
        if not colon or not _DIGITS.match(count.strip()) or not who.strip():
            errors[ids.F_STEPS] = ("Write each step as who, a colon and how many: `owners: 1` or "
                                   "`@atlas-security: 1`.")
            return None
        names = [w.strip() for w in who.split(",") if w.strip()]
        steps.append({"approvers": "owners" if names == ["owners"] else names, "required": int(count)})
    return steps or None


_BUNDLE_NAME = re.compile(NAME_PATTERN)
BUNDLE_FORMAT = ("Write each bundle on a line of its own: its name, a colon, then each resource with its roles in "
                 "brackets, separated by `;`, e.g. `incident: payments (GROUP_READ_ONLY); payments/orders-db "
                 "(readWrite)`.")


def _bundles(text: str, errors: dict[str, str]) -> list[dict[str, Any]]:
    """`name: resource (ROLE, ROLE); resource (ROLE)`, one bundle a line, as the YAML's bundles (the model checks
    names, sizes and repeats; ConfigService that each item falls under some flow). A resource's name may hold
    brackets of its own: its roles are the last ones."""
    bundles: list[dict[str, Any]] = []
    for number, line in enumerate((raw.strip() for raw in text.splitlines() if raw.strip()), start=1):
        name, colon, rest = line.partition(":")
        items = []
        for part in (p.strip() for p in rest.split(";") if p.strip()):
            resource, bracket, roles = part[:-1].rpartition("(") if part.endswith(")") else ("", "", "")
            if not bracket or not resource.strip():
                errors[ids.F_BUNDLES] = f"Line {number}: give each resource its roles in brackets. {BUNDLE_FORMAT}"
                return []
            named = [r.strip() for r in roles.split(",") if r.strip()]
            if not named:
                errors[ids.F_BUNDLES] = f"Line {number}: name at least one role in the brackets of {resource.strip()}."
                return []
            items.append({"resource": resource.strip(), "roles": named})
        if not colon or not name.strip() or not items:
            errors[ids.F_BUNDLES] = f"Line {number}: {BUNDLE_FORMAT}"
            return []
        if not _BUNDLE_NAME.match(name.strip()):
            errors[ids.F_BUNDLES] = f"Line {number}: a bundle's name is 1 to 64 letters, digits, - and _ (no spaces)."
            return []
        bundles.append({"name": name.strip(), "items": items})
    return bundles


def _network(draft: FlowDraft, errors: dict[str, str]) -> dict[str, Any]:
    """network_access and network_max_prefix from the modal (a blank prefix is the default)."""
    if draft.network_access not in NETWORK_CHOICES:  # only a forged payload sends another value
        errors[ids.F_NETWORK] = "Pick none, or the requester's IP address."
        return {}
    prefix_text = draft.network_max_prefix.removeprefix("/").strip()
    data: dict[str, Any] = {"network_access": None if draft.network_access == "none" else draft.network_access}
    if prefix_text:
        if not _DIGITS.match(prefix_text):
            errors[ids.F_NETWORK_PREFIX] = FRIENDLY[ids.F_NETWORK_PREFIX]
            return data
        data["network_max_prefix"] = int(prefix_text)
    else:
        data["network_max_prefix"] = DEFAULT_WIDEST_V4
    if data["network_access"] is not None and list(draft.types) != [ResourceKind.CLUSTER.value]:
        errors[ids.F_NETWORK] = ("The requester's IP address goes on a project's IP access list for a database "
                                 "user: pick Clusters as the only resource type.")
    return data


def _auth(draft: FlowDraft, errors: dict[str, str]) -> dict[str, Any]:
    """auth from the modal: password, or x509 for a flow of clusters only."""
    if draft.auth not in AUTH_CHOICES:  # only a forged payload sends another value
        errors[ids.F_AUTH] = "Pick a password or an X.509 certificate."
        return {}
    if draft.auth != "password" and list(draft.types) != [ResourceKind.CLUSTER.value]:
        errors[ids.F_AUTH] = ("An X.509 certificate is how a temporary database user signs in: pick Clusters as "
                              "the only resource type.")
    return {"auth": draft.auth}


def _tags(text: str, errors: dict[str, str]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for pair in (p.strip() for p in text.split(",") if p.strip()):
        key, sep, value = pair.partition("=")
        if not sep or not key.strip() or not value.strip():
            errors[ids.F_TAGS] = "Write tags as key=value, separated by commas (e.g. env=prod, team=payments)."
            return {}
        tags[key.strip()] = value.strip()
    return tags


def _count(text: str, errors: dict[str, str]) -> int:
    if not _DIGITS.match(text):
        errors[ids.F_APPROVALS] = FRIENDLY[ids.F_APPROVALS]
        return 1
    return int(text)


def place_flow_problems(problems: Mapping[str, str], *, roles: list[str], typed: Collection[str]
                        ) -> dict[str, str]:
    """ConfigService's FieldErrors for a flow (`flow.roles[0]: ...`) keyed by the modal's block ids; a role
    error lands on the field the role came from (`typed`: the roles typed rather than picked)."""
    placed: dict[str, str] = {}
    for field, message in problems.items():
        parts = field.removeprefix("flow.").replace("[", ".").replace("]", "").split(".")
        key = parts[1] if parts[0] == "resources" and len(parts) > 1 else parts[0]
        block = FLOW_BLOCKS.get(key, ids.F_INTEGRATION)
        sentence = message[0].upper() + message[1:] + "."
        if "bundles[" in field:  # a bundle the change leaves outside every flow: on the names (and this flow's own
            block = ids.F_NAMES  # on its bundles field too)
            if field.startswith("flow.bundles["):
                placed.setdefault(ids.F_BUNDLES, sentence)
        if key == "roles" and len(parts) > 1 and parts[1].isdigit() and int(parts[1]) < len(roles) \
                and roles[int(parts[1])] in typed:
            block = ids.F_OTHER_ROLES
        placed.setdefault(block, sentence)
    return placed


# --- pydantic errors to fields -----------------------------------------------------------------------------------


def _placed(error: ValidationError, blocks: Mapping[str, str], *, secret_block: str | None = None) -> dict[str, str]:
    placed: dict[str, str] = {}
    for item in error.errors(include_input=False, include_url=False):
        loc = [str(part) for part in item["loc"] if not isinstance(part, int)]
        if loc and loc[0] == "resources":
            loc = loc[1:]
        block = blocks.get(loc[0] if loc else "", next(iter(blocks.values())))
        if not loc and "network_access" in str(item["msg"]) and "network_access" in blocks:  # the model's rule
            block = blocks["network_access"]
        if not loc and "auth: x509" in str(item["msg"]) and "auth" in blocks:
            block = blocks["auth"]
        if loc[:1] == ["credentials"] and secret_block and any(p in _SECRET_FIELD.values() for p in loc):
            block = secret_block
        words = _words(block, item["type"], str(item["msg"]))
        if loc[:1] == ["pending"] and "max_duration" in blocks:  # not in the modal: kept from the stored flow
            block, words = blocks["max_duration"], f"The stored {'.'.join(loc)} (set in the config file): {words}"
        placed.setdefault(block, words)
    return placed


def _words(block: str, kind: str, message: str) -> str:
    if block in FRIENDLY and kind in ("string_pattern_mismatch", "too_short", "greater_than_equal",
                                      "less_than_equal", "int_parsing"):
        return FRIENDLY[block]
    if block == ids.I_TAG_KEY and "needs integration_owners" in message:
        return RESOURCE_OWNER_RULE
    text = message.removeprefix("Value error, ")
    return text[0].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _merge(errors: dict[str, str], more: dict[str, str]) -> None:
    for block, message in more.items():
        errors.setdefault(block, message)

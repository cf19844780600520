"""The integration and access flow modals: "Test connection", and saving (validated before the ack).

A submission is checked field by field and saved before it is acknowledged, so every problem can go back into
the modal as `response_action: errors`. After the ack: the admin home underneath is refreshed, and a saved
integration gets its first sync (its progress and result come as a DM).
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any

from pydantic import SecretStr, ValidationError
from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from access.admin import validation_errors
from access.config import ApiKeyCredentials, CredentialSpec, ServiceAccountCredentials, literal_credentials
from access.connections import OktaConnection, PagerDutyConnection, okta_group_of
from access.errors import CredentialsMissing, FieldErrors, SecretKeyError
from access.ports import MissingSecret
from bot.slack import payloads as p
from bot.slack.admin import ids
from bot.slack.admin.context import Admin
from bot.slack.admin.drafts import (
    IntegrationDraft,
    flow_from_state,
    integration_from_state,
    owner_words,
    typed_okta_secret,
    typed_pagerduty_key,
    typed_roles,
    typed_secret,
    words_of,
)
from bot.slack.admin.form_views import integration_modal
from bot.slack.admin.forms import connection_data, flow_spec, integration_spec, place_flow_problems
from bot.slack.admin.home_view import CHECKING
from bot.slack.admin.words import SAVE_FAILED
from bot.slack.replies import team_of

log = logging.getLogger(__name__)
_ORG_ID = re.compile(r"^[0-9a-fA-F]{24}$")
NO_KEY = ("This server cannot store Atlas secrets: ATLAS_ACCESS_SECRET_KEY is not set or not valid. Ask the "
          "operator (atlas-access keygen makes one), or give environment variable names in a config file.")


class FormListeners:
    def __init__(self, admin: Admin) -> None:
        self._admin = admin

    # --- Test connection --------------------------------------------------------------------------------------

    def test_connection(self, ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        ack()
        team = team_of(context)
        self._admin.later(lambda: self._test(body, client, team))

    def _test(self, body: dict[str, Any], client: WebClient, team: str | None) -> None:
        if (refusal := self._admin.refusal(body, team, ids.TEST_CONNECTION)) is not None:
            self._admin.tell(client, p.user_of(body), refusal)
            return
        view = body.get("view") or {}
        draft = integration_from_state(view)
        credentials, problem = self._typed_credentials(draft, typed_secret(view))
        shown = self._admin.update_view(client, str(view.get("id")), integration_modal(draft, result=CHECKING),
                                        hash_=view.get("hash"))
        if shown is None:
            return  # the modal was submitted or closed meanwhile
        if credentials is not None:
            result = self._admin.tester.check(name=draft.name, organization_id=draft.organization_id,
                                              credentials=credentials).text
        else:
            result = f":x: {problem}"
        result = "\n".join([result, *self._vendor_checks(draft, view)])
        self._admin.update_view(client, str(view.get("id")), integration_modal(draft, result=result),
                                hash_=str(shown.get("hash") or "") or None)

    def _vendor_checks(self, draft: IntegrationDraft, view: dict[str, Any]) -> list[str]:
        """PagerDuty and Okta, as typed (blank secrets: as stored), each against what the integration names."""
        stored = self._admin.integration(draft.name) if draft.editing else None
        errors: dict[str, str] = {}
        typed = connection_data(draft, stored=stored, pagerduty_key=typed_pagerduty_key(view),
                                okta_secret=typed_okta_secret(view), errors=errors)
        lines = [f":x: {message}" for block, message in errors.items() if block in (ids.I_OKTA_URL, ids.I_OKTA_CLIENT,
                                                                                      ids.I_OKTA_SECRET)]
        try:
            pagerduty = (stored.pagerduty if "pagerduty" in typed.kept_fields and stored else
                         PagerDutyConnection.model_validate(typed.data["pagerduty"]) if typed.data["pagerduty"]
                         else None)
            okta = (stored.okta if "okta" in typed.kept_fields and stored else
                    OktaConnection.model_validate(typed.data["okta"]) if typed.data["okta"] and not lines else None)
        except ValidationError as error:
            return [*lines, ":x: " + " ".join(validation_errors(error).values())]
        if pagerduty is not None:
            schedules = [s for f in self._admin.overview().flows if f.integration == draft.name and f.auto_approve
                         for s in f.auto_approve.on_call.schedules]
            lines.append(self._admin.tester.check_pagerduty(connection=pagerduty, schedules=schedules).text)
        if okta is not None:
            groups = [g for p in words_of_owners(draft) if (g := okta_group_of(p))]
            lines.append(self._admin.tester.check_okta(connection=okta, groups=groups).text)
        return lines

    def _typed_credentials(self, draft: IntegrationDraft, secret: str) -> tuple[CredentialSpec | None, str]:
        """The credentials as typed, completed from the stored ones when editing (blank fields keep them)."""
        if not _ORG_ID.match(draft.organization_id):
            return None, "Enter the organization ID first (24 hexadecimal characters)."
        stored = self._admin.integration(draft.name) if draft.editing else None
        base: CredentialSpec | None = None
        if stored is not None and stored.credentials.type == draft.credential_type:
            try:
                base = literal_credentials(stored.credentials, env=os.environ, integration=stored.name)
            except CredentialsMissing as error:
                return None, str(error)
        kept_id, kept_secret = _identity_and_secret(base)
        identity, value = draft.credential_id or kept_id, secret or kept_secret
        if not identity or not value:
            return None, "Enter the public key and private key (or the client ID and secret) first."
        try:
            if draft.credential_type == "service_account":
                return ServiceAccountCredentials(type="service_account", client_id=identity,
                                                 client_secret=SecretStr(value)), ""
            return ApiKeyCredentials(type="api_key", public_key=identity, private_key=SecretStr(value)), ""
        except ValidationError as error:  # a length past the limits: named, never the value
            return None, " ".join(validation_errors(error).values())

    # --- saving -----------------------------------------------------------------------------------------------

    def submit_integration(self, ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        try:
            if (refusal := self._admin.refusal(body, context, ids.INTEGRATION)) is not None:
                raise p.InputErrors({ids.I_ORG: refusal})
            name, enabled = self._save_integration(body)
        except p.InputErrors as errors:
            ack(response_action="errors", errors=errors.errors)
            return
        ack()
        self._admin.later(lambda: self._after_integration(body, client, name, enabled))

    def _save_integration(self, body: dict[str, Any]) -> tuple[str, bool]:
        view = body.get("view") or {}
        draft = integration_from_state(view)
        stored = self._admin.integration(draft.name) if draft.editing else None
        if draft.editing and stored is None:
            raise p.InputErrors({ids.I_ORG: f"The integration {draft.name} was deleted meanwhile."})
        taken = {i.name for i in self._admin.overview().integrations}
        spec, keep = integration_spec(draft, secret=typed_secret(view), stored=stored, taken=taken,
                                      pagerduty_key=typed_pagerduty_key(view), okta_secret=typed_okta_secret(view))
        self._check_principals(spec.integration_owners, ids.I_OWNER_GROUPS)
        needing = [f.name for f in self._admin.overview().flows if f.integration == spec.name and f.auto_approve]
        if spec.pagerduty is None and needing:
            raise p.InputErrors({ids.I_PD_REMOVE if draft.pagerduty_remove else ids.I_PD_KEY: (
                f"The access flow {', '.join(needing)} approves whoever is on call in PagerDuty: remove its "
                "auto_approve first (config apply), or keep a PagerDuty key here.")})
        try:
            self._admin.config.save_integration(spec, actor=p.user_of(body), keep_secrets=keep)
        except MissingSecret:
            raise p.InputErrors({ids.I_CRED_SECRET: "Enter the secret: nothing is stored to keep."}) from None
        except SecretKeyError:
            raise p.InputErrors({ids.I_CRED_SECRET: NO_KEY}) from None
        except Exception:
            log.exception("saving integration %s failed", spec.name)
            raise p.InputErrors({ids.I_ORG: SAVE_FAILED}) from None
        return spec.name, spec.enabled

    def _after_integration(self, body: dict[str, Any], client: WebClient, name: str, enabled: bool) -> None:
        self._admin.checks.pop(name, None)
        notice = f":white_check_mark: Saved integration *{name}*."
        claim = self._admin.runner.claim([name]) if enabled else None
        if claim is not None and claim.names:
            notice += " Its first sync is running: I'll DM you the progress and what it found."
        elif claim is not None:
            notice += " " + claim.busy_words()
        if (root := self._admin.root_of(body)) is not None:
            self._admin.show_home(client, root, notice=notice)
        if claim is not None and claim.names:
            self._admin.runner.run(claim, user_id=p.user_of(body), channel=None,
                                   title=f"First sync of *{name}*, saved by <@{p.user_of(body)}>")

    def submit_flow(self, ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        try:
            if (refusal := self._admin.refusal(body, context, ids.FLOW)) is not None:
                raise p.InputErrors({ids.F_INTEGRATION: refusal})
            name = self._save_flow(body)
        except p.InputErrors as errors:
            ack(response_action="errors", errors=errors.errors)
            return
        ack()
        if (root := self._admin.root_of(body)) is not None:
            self._admin.later(lambda: self._admin.show_home(client, root, notice=f":white_check_mark: Saved access "
                                                                                 f"flow *{name}*."))

    def _save_flow(self, body: dict[str, Any]) -> str:
        view = body.get("view") or {}
        draft = flow_from_state(view)
        stored = self._admin.flow(draft.name) if draft.editing else None
        if draft.editing and stored is None:
            raise p.InputErrors({ids.F_INTEGRATION: f"The access flow {draft.name} was deleted meanwhile."})
        spec = flow_spec(draft, taken={f.name for f in self._admin.overview().flows}, stored=stored)
        self._check_principals(words_of(draft.requester_others), ids.F_GROUPS)
        try:
            self._admin.config.save_flow(spec, actor=p.user_of(body))
        except FieldErrors as errors:
            typed = set(typed_roles(view))
            raise p.InputErrors(place_flow_problems(errors.errors, roles=spec.roles, typed=typed)) from None
        except Exception:
            log.exception("saving access flow %s failed", spec.name)
            raise p.InputErrors({ids.F_INTEGRATION: SAVE_FAILED}) from None
        return spec.name

    def _check_principals(self, principals: list[str], block: str) -> None:
        """User groups and emails must be known to Slack (user ids come from Slack's own picker); Okta groups are
        Okta's to know (Test connection checks them)."""
        directory = self._admin.directory
        unknown = []
        for principal in principals:
            if okta_group_of(principal) is not None:
                continue
            if principal.startswith("@") or re.match(r"^S[A-Z0-9]{2,}$", principal):
                if directory.group_members(principal.removeprefix("@")) is None:
                    unknown.append(principal)
            elif "@" in principal and directory.user_id_for_email(principal) is None:
                unknown.append(principal)
        if unknown:
            raise p.InputErrors({block: f"Slack knows no user group or person {', '.join(unknown)}: check the "
                                        "spelling (user groups as @handle or S… id)."})



def words_of_owners(draft: IntegrationDraft) -> list[str]:
    """The integration owners typed as text, an `okta:<group name>` kept whole (a group name may hold spaces)."""
    return owner_words(draft.owner_others)


def _identity_and_secret(credentials: CredentialSpec | None) -> tuple[str, str]:
    """The public key or client id, and the private key or client secret, of literal credentials ("" if none)."""
    if isinstance(credentials, ApiKeyCredentials):
        secret = credentials.private_key
        return credentials.public_key or "", secret.get_secret_value() if secret else ""
    if isinstance(credentials, ServiceAccountCredentials):
        secret = credentials.client_secret
        return credentials.client_id or "", secret.get_secret_value() if secret else ""
    return "", ""

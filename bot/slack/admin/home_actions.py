"""The buttons of the admin home: add or edit (a modal pushed on top), test, sync, rotate, disable or enable.

Each acks first. Pushing a modal uses the click's trigger at once; the rest runs after the ack and ends by
re-rendering the home with a notice of what happened. The clicker is checked at every click.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from access.errors import AccessError, FieldErrors, RequestRefused
from bot.slack import payloads as p
from bot.slack.admin import ids
from bot.slack.admin.context import Admin, clicked_value
from bot.slack.admin.drafts import FlowDraft, IntegrationDraft, flow_draft, integration_draft
from bot.slack.admin.form_views import flow_modal, integration_modal
from bot.slack.admin.words import atlas_problem, rotation_words
from bot.slack.replies import team_of
from bot.slack.views import notice_modal

log = logging.getLogger(__name__)
Work = Callable[[str, str], str | None]  # (name, user id) -> the notice to show, or None when shown already


class HomeActions:
    def __init__(self, admin: Admin) -> None:
        self._admin = admin

    def handlers(self) -> dict[str, Callable[..., None]]:
        return {
            ids.ADD_INTEGRATION: self._pushing(lambda name: integration_modal(IntegrationDraft())),
            ids.EDIT_INTEGRATION: self._pushing(self._edit_integration),
            ids.ADD_FLOW: self._pushing(lambda name: self._flow_modal(None)),
            ids.EDIT_FLOW: self._pushing(lambda name: self._flow_modal(name)),
            ids.REFRESH: self._acting(lambda name, user: None, recheck=True),
            ids.TEST_INTEGRATION: self._acting(self._test),
            ids.SYNC_INTEGRATION: self._acting(self._sync),
            ids.ROTATE_INTEGRATION: self._acting(self._rotate),
            ids.TOGGLE_INTEGRATION: self._acting(self._toggle_integration),
            ids.TOGGLE_FLOW: self._acting(self._toggle_flow),
        }  # fmt: skip

    # --- plumbing: ack, check the clicker, then push a modal or act and re-render -----------------------------

    def _pushing(self, build: Callable[[str], dict[str, object]]) -> Callable[..., None]:
        def listener(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
            ack()
            team = team_of(context)
            self._admin.later.urgent(lambda: self._push(body, client, team, build))

        return listener

    def _push(self, body: dict[str, Any], client: WebClient, team: str | None,
              build: Callable[[str], dict[str, object]]) -> None:
        if self._refused(body, client, team):
            return
        client.views_push(trigger_id=body["trigger_id"], view=build(clicked_value(body)))

    def _acting(self, work: Work, *, recheck: bool = False) -> Callable[..., None]:
        def listener(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
            ack()
            team = team_of(context)
            self._admin.later(lambda: self._act(body, client, team, work, recheck))

        return listener

    def _act(self, body: dict[str, Any], client: WebClient, team: str | None, work: Work, recheck: bool) -> None:
        if self._refused(body, client, team):
            return
        view_id = str((body.get("view") or {}).get("id") or "")
        try:
            notice = work(clicked_value(body), p.user_of(body))
        except AccessError as error:
            notice = f":x: {error}"
        except Exception as error:
            log.exception("admin action failed")
            notice = f":x: {atlas_problem(error, integration=clicked_value(body))}"
        if view_id:
            self._admin.show_home(client, view_id, notice=notice, recheck=recheck)

    def _refused(self, body: dict[str, Any], client: WebClient, team: str | None) -> bool:
        action = str(((body.get("actions") or [{}])[0]).get("action_id") or "admin")
        refusal = self._admin.refusal(body, team, action)
        if refusal is not None:
            self._admin.tell(client, p.user_of(body), refusal)
        return refusal is not None

    # --- the modals ------------------------------------------------------------------------------------------

    def _edit_integration(self, name: str) -> dict[str, object]:
        spec = self._admin.integration(name)
        if spec is None:
            return notice_modal(f"There is no integration named {name} any more.")
        return integration_modal(integration_draft(spec))

    def _flow_modal(self, name: str | None) -> dict[str, object]:
        overview = self._admin.overview()
        integrations = [i.name for i in overview.integrations]
        if not integrations:
            return notice_modal("Add an integration first: an access flow gives access through one.")
        extra = self._extra_roles()
        if name is None:
            return flow_modal(FlowDraft(integration=integrations[0]), integrations=integrations, extra_roles=extra)
        spec = self._admin.flow(name)
        if spec is None:
            return notice_modal(f"There is no access flow named {name} any more.")
        return flow_modal(flow_draft(spec), integrations=integrations, extra_roles=extra)

    def _extra_roles(self) -> tuple[str, ...]:
        integrations = self._admin.config.standing()[0]
        return tuple(sorted({r for spec, _ in integrations for r in spec.extra_project_roles}))

    # --- the actions -----------------------------------------------------------------------------------------

    def _test(self, name: str, user_id: str) -> str | None:
        spec = self._admin.integration(name)
        if spec is None:
            return f"There is no integration named {name} any more."
        return f"*{name}*: {self._admin.check_stored(spec).text}"

    def _sync(self, name: str, user_id: str) -> str | None:
        claim = self._admin.runner.claim([name])
        if claim.busy:
            return claim.busy_words()
        self._admin.later(lambda: self._admin.runner.run(claim, user_id=user_id, channel=None))
        return f":arrows_counterclockwise: Syncing *{name}*: I'll DM you the progress and what changed."

    def _rotate(self, name: str, user_id: str) -> str | None:
        if self._admin.runner.busy(name):
            # Rotation deletes the old credential as soon as the new one is stored: a sync reading Atlas with
            # the old one at that moment would fail half-way.
            return f"A sync of *{name}* is running: rotate its credential once it has finished."
        try:
            outcome = self._admin.rotation.rotate(name, actor=user_id)
        except RequestRefused as refused:
            return refused.reason
        self._admin.checks.pop(name, None)  # checked with the old credential
        return rotation_words(outcome)

    def _toggle_integration(self, name: str, user_id: str) -> str | None:
        spec = self._admin.integration(name)
        if spec is None:
            return f"There is no integration named {name} any more."
        self._admin.config.save_integration(spec.model_copy(update={"enabled": not spec.enabled}),
                                                    actor=user_id, keep_secrets=False)
        return f"*{name}* is {'disabled' if spec.enabled else 'enabled again'}."

    def _toggle_flow(self, name: str, user_id: str) -> str | None:
        spec = self._admin.flow(name)
        if spec is None:
            return f"There is no access flow named {name} any more."
        try:
            self._admin.config.save_flow(spec.model_copy(update={"enabled": not spec.enabled}), actor=user_id)
        except FieldErrors as errors:
            return f":x: {name} cannot be saved as it is: " + " ".join(errors.errors.values())
        return f"Access flow *{name}* is {'disabled' if spec.enabled else 'enabled again'}."

"""What every admin listener shares: the use cases, the guard, the Slack calls they repeat, and the home refresh.

Listeners stay short by leaning on this: ack, ask `refusal`, do one thing, `show_home` with a notice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from access.admin import ConfigService
from access.config import AccessFlowSpec, IntegrationSpec
from access.connections import okta_group_of
from access.rotation import RotationService
from bot.slack.admin.auth import AdminGuard
from bot.slack.admin.connection import ConnectionResult, ConnectionTester, combined
from bot.slack.admin.home_view import home_modal
from bot.slack.admin.overview import Overview, load_overview
from bot.slack.admin.sync_runner import SyncRunner
from bot.slack.directory import SlackDirectory
from bot.slack.pacing import AfterAck
from bot.slack.replies import team_of

log = logging.getLogger(__name__)
CHECK_THREADS = 8


def clicked_value(body: dict[str, Any]) -> str:
    """The name a button carries (only a name: what may be done with it is decided from stored state)."""
    return str(((body.get("actions") or [{}])[0]).get("value") or "")


@dataclass
class Admin:
    config: ConfigService
    rotation: RotationService
    directory: SlackDirectory
    guard: AdminGuard
    tester: ConnectionTester
    runner: SyncRunner
    later: AfterAck
    audit: Callable[[str, str], str]  # `/atlas-admin audit …`: (user id, the words after it) -> the answer
    checks: dict[str, ConnectionResult] = field(default_factory=dict)  # the last credential check of each
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- who is asking --------------------------------------------------------------------------------------

    def refusal(self, body: dict[str, Any], context: BoltContext | str | None, action: str) -> str | None:
        team = context if isinstance(context, str) or context is None else team_of(context)
        return self.guard.refusal(body=body, our_team=team, action=action)

    def tell(self, client: WebClient, user_id: str, text: str) -> None:
        """A DM: clicks in a modal have no channel to answer in."""
        try:
            client.chat_postMessage(channel=user_id, text=text)
        except SlackApiError as error:
            log.warning("telling %s failed: %s", user_id, error.response.get("error"))

    # --- stored state ---------------------------------------------------------------------------------------

    def integration(self, name: str) -> IntegrationSpec | None:
        return self.config.integration(name)

    def flow(self, name: str) -> AccessFlowSpec | None:
        return self.config.flow(name)

    def overview(self) -> Overview:
        return load_overview(self.config)

    # --- Atlas checks ---------------------------------------------------------------------------------------

    def check_stored(self, spec: IntegrationSpec) -> ConnectionResult:
        result = self.tester.check(name=spec.name, organization_id=spec.organization_id, credentials=spec.credentials)
        if spec.pagerduty is not None or spec.okta is not None:
            result = combined([result, *self._vendor_checks(spec)])
        with self._lock:
            self.checks[spec.name] = result
        return result

    def _vendor_checks(self, spec: IntegrationSpec) -> list[ConnectionResult]:
        found = []
        if spec.pagerduty is not None:
            schedules = [s for f in self.config.standing()[1] if f.integration == spec.name and f.auto_approve
                         for s in f.auto_approve.on_call.schedules]
            found.append(self.tester.check_pagerduty(connection=spec.pagerduty, schedules=schedules))
        if spec.okta is not None:
            groups = [g for p in spec.integration_owners if (g := okta_group_of(p))]
            found.append(self.tester.check_okta(connection=spec.okta, groups=groups))
        return found

    def check_all(self) -> None:
        specs = [spec for spec, _ in self.config.standing()[0] if spec.enabled]
        if specs:
            with ThreadPoolExecutor(max_workers=min(CHECK_THREADS, len(specs))) as pool:
                list(pool.map(self.check_stored, specs))

    # --- the home modal -------------------------------------------------------------------------------------

    def show_home(self, client: WebClient, view_id: str, *, notice: str | None = None, recheck: bool = False) -> None:
        """Render the home modal into `view_id`; with `recheck`, test every integration's credentials live."""
        overview = self.overview()
        checks: dict[str, ConnectionResult | None] = dict(self.checks)
        if recheck:
            checks.update({i.name: None for i in overview.integrations if i.enabled})
        shown = self.update_view(client, view_id, home_modal(overview, checks=checks, notice=notice))
        if not recheck or shown is None:
            return
        self.check_all()
        # Only if nobody changed the modal meanwhile (the hash says): a newer notice must not be overwritten.
        self.update_view(client, view_id, home_modal(self.overview(), checks=dict(self.checks), notice=notice),
                         hash_=str(shown.get("hash") or "") or None)

    def update_view(self, client: WebClient, view_id: str, view: dict[str, object],
                    hash_: str | None = None) -> dict[str, Any] | None:
        """views.update; the updated view, or None when the modal is gone or changed meanwhile."""
        try:
            answer = client.views_update(view_id=view_id, view=view, hash=hash_)
        except SlackApiError as error:
            log.info("views.update failed: %s", error.response.get("error"))
            return None
        updated: dict[str, Any] = answer.get("view") or {}
        return updated

    def root_of(self, body: dict[str, Any]) -> str | None:
        """The admin home under a pushed modal, to refresh it after a save."""
        view = body.get("view") or {}
        root = view.get("root_view_id")
        return str(root) if root and root != view.get("id") else None

"""The App Home: published on `app_home_opened` and after changes concerning a person; its buttons.

After a change the Home is refreshed by `HomeRefresher` (bot/slack/home_refresh.py): off the thread that
made the change, at most once per HOME_REFRESH_SECONDS per person.

"I'm done" and Cancel are handled here, Extend by `bot.slack.extend`; Approve and Deny on the Home use the
approval message's action ids, so the request flow's listeners decide them the same way (authorised from stored
state at click time).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from access.errors import AccessError
from access.selfservice import SelfService
from bot.slack import messages as words
from bot.slack import payloads as p
from bot.slack.admin.auth import is_admin
from bot.slack.bolt import after_ack_of
from bot.slack.extend import register_extend
from bot.slack.home_refresh import HomeRefresher
from bot.slack.home_view import CANCEL, DONE, home_view
from bot.slack.listeners import _retrying
from bot.slack.pacing import AckGate, AfterAck

log = logging.getLogger(__name__)


class HomePublisher:
    """Builds one person's Home from stored state and publishes it; Slack's refusals are logged, not raised."""

    def __init__(self, runtime: Any, selfservice: SelfService) -> None:
        self._runtime = runtime
        self._selfservice = selfservice

    def __call__(self, user_id: str) -> None:
        """Raises when the Home cannot be built (the database away): the caller decides whether to retry."""
        admin = is_admin(user_id, self._runtime.settings.admins, self._runtime.extras["directory"])
        data = self._selfservice.home(user_id=user_id, admin=admin)
        # Who may decide is settled at click time: the list follows the owners as they are now, not as stored.
        data = replace(data, to_decide=self._runtime.service.to_decide(user_id=user_id))
        try:
            self._runtime.slack.views_publish(user_id=user_id, view=home_view(data))
        except SlackApiError as error:  # Slack said no (after slack_sdk's retries): trying again would not help
            log.warning("views.publish for %s failed: %s", user_id, error.response.get("error"))


def selfservice_of(runtime: Any) -> SelfService:
    """The runtime's SelfService, made once."""
    found = runtime.extras.get("selfservice")
    if found is None:
        found = SelfService(store=runtime.store, clock=runtime.clock, worker=runtime.worker,
                            max_pending=runtime.settings.max_pending_per_person)
        runtime.extras["selfservice"] = found
    return found


def register_home(app: App, *, runtime: Any) -> None:
    """Wire the Home into `app` and let the notifier publish Homes after each change."""
    publisher = HomePublisher(runtime, selfservice_of(runtime))
    gate = runtime.extras.setdefault("ack_gate", AckGate())
    refresher = HomeRefresher(publisher, spacing=runtime.settings.home_refresh_seconds, gate=gate,
                              per_minute=runtime.settings.home_publish_per_minute)
    runtime.extras["home_refresher"] = refresher
    runtime.extras["notifier"].home = refresher  # changes mark Homes stale; one thread publishes them
    later = after_ack_of(app) or AfterAck(threads=runtime.settings.listener_threads, gate=gate)
    later.on_drain(refresher.close)
    listeners = HomeListeners(runtime, publisher, later, refresher)
    app.event("app_home_opened")(listeners.opened)
    app.action(DONE)(listeners.done)
    app.action(CANCEL)(listeners.cancel)
    register_extend(app, runtime=runtime, later=later, selfservice=selfservice_of(runtime))


class HomeListeners:
    def __init__(self, runtime: Any, publisher: HomePublisher, later: AfterAck, refresher: HomeRefresher) -> None:
        self._runtime = runtime
        self._publisher = publisher
        self._later = later
        self._refresher = refresher

    def _publish(self, user_id: str) -> None:
        """Now, as the person is looking; if the Home cannot be built, the refresher tries again shortly."""
        try:
            self._publisher(user_id)
        except Exception as error:
            log.warning("building the App Home of %s failed (%s); it will be tried again", user_id,
                        type(error).__name__)
            self._refresher(user_id)

    def opened(self, ack: Ack, event: dict[str, Any]) -> None:
        ack()
        user_id = str(event.get("user") or "")
        if event.get("tab", "home") == "home" and user_id:
            self._later(lambda: self._publish(user_id))

    def done(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        self._later(lambda: self._act(body, client, self._done))

    def cancel(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        self._later(lambda: self._act(body, client, self._cancel))

    def _done(self, user_id: str, grant_id: int) -> None:
        _retrying(lambda: selfservice_of(self._runtime).done(grant_id=grant_id, user_id=user_id))

    def _cancel(self, user_id: str, request_id: int) -> None:
        _retrying(lambda: self._runtime.service.cancel(request_id=request_id, user_id=user_id))

    def _act(self, body: dict[str, Any], client: WebClient, action: Any) -> None:
        user_id, item_id = p.user_of(body), p.request_id_of(body)  # the button's value is the id, nothing else
        try:
            if item_id is None:
                raise AccessError("That button is broken; open the Home tab again.")
            action(user_id, item_id)
        except AccessError as error:
            _dm(client, user_id, words.error_text(error))
        except Exception:
            log.exception("a Home action failed")
            _dm(client, user_id, words.TRY_AGAIN)
        self._publish(user_id)  # the Home shows the outcome (and a refusal's state) either way


def _dm(client: WebClient, user_id: str, text: str) -> None:
    try:
        client.chat_postMessage(channel=user_id, text=text)
    except SlackApiError as error:
        log.warning("telling %s failed: %s", user_id, error.response.get("error"))

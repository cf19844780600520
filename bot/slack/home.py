"""The App Home: published on `app_home_opened` and after changes concerning a person; its buttons.

After a change the Home is refreshed by `HomeRefresher` (bot/slack/home_refresh.py): off the thread that
made the change, at most once per HOME_REFRESH_SECONDS per person.

"I'm done" and Cancel are handled here, Extend by `bot.slack.extend`; Approve and Deny on the Home use the
approval message's action ids, so the request flow's listeners decide them the same way (authorised from stored
state at click time).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from access.errors import AccessError
from access.homes import HomeQueries
from access.selfservice import SelfService
from access.service import AccessService
from bot.slack import messages as words
from bot.slack import payloads as p
from bot.slack.home_refresh import HomeRefresher
from bot.slack.home_view import home_view
from bot.slack.ids import CANCEL, DONE
from bot.slack.pacing import AfterAck
from bot.slack.replies import dm, retrying

log = logging.getLogger(__name__)


class HomePublisher:
    """Builds one person's Home from stored state and publishes it; Slack's refusals are logged, not raised."""

    def __init__(self, *, client: WebClient, queries: HomeQueries, is_admin: Callable[[str], bool]) -> None:
        self._client = client
        self._queries = queries
        self._is_admin = is_admin

    def __call__(self, user_id: str) -> None:
        """Raises when the Home cannot be built (the database away): the caller decides whether to retry."""
        data = self._queries.home(user_id=user_id, admin=self._is_admin(user_id))
        try:
            self._client.views_publish(user_id=user_id, view=home_view(data))
        except SlackApiError as error:  # Slack said no (after slack_sdk's retries): trying again would not help
            log.warning("views.publish for %s failed: %s", user_id, error.response.get("error"))


def register_home(app: App, *, publisher: HomePublisher, refresher: HomeRefresher, selfservice: SelfService,
                  service: AccessService, after_ack: AfterAck) -> None:
    """Wire the Home's event and buttons into `app` (Extend: bot.slack.extend)."""
    listeners = HomeListeners(publisher=publisher, refresher=refresher, selfservice=selfservice, service=service,
                              after_ack=after_ack)
    app.event("app_home_opened")(listeners.opened)
    app.action(DONE)(listeners.done)
    app.action(CANCEL)(listeners.cancel)


class HomeListeners:
    def __init__(self, *, publisher: HomePublisher, refresher: HomeRefresher, selfservice: SelfService,
                 service: AccessService, after_ack: AfterAck) -> None:
        self._publisher = publisher
        self._refresher = refresher
        self._selfservice = selfservice
        self._service = service
        self._later = after_ack

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
        retrying(lambda: self._selfservice.done(grant_id=grant_id, user_id=user_id))

    def _cancel(self, user_id: str, request_id: int) -> None:
        retrying(lambda: self._service.cancel(request_id=request_id, user_id=user_id))

    def _act(self, body: dict[str, Any], client: WebClient, action: Callable[[str, int], None]) -> None:
        user_id, item_id = p.user_of(body), p.request_id_of(body)  # the button's value is the id, nothing else
        try:
            if item_id is None:
                raise AccessError("That button is broken; open the Home tab again.")
            action(user_id, item_id)
        except AccessError as error:
            dm(client, user_id, words.error_text(error))
        except Exception:
            log.exception("a Home action failed")
            dm(client, user_id, words.TRY_AGAIN)
        self._publish(user_id)  # the Home shows the outcome (and a refusal's state) either way


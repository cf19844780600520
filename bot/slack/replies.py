"""Small things every listener does: answer only the person who acted, tell our workspace apart, and run a use
case again when its compare-and-set lost a race."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from slack_bolt import BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from access.ports import StaleWrite

log = logging.getLogger(__name__)
T = TypeVar("T")
STALE_RETRIES = 3


def ephemeral(client: WebClient, *, channel: str | None, user_id: str, text: str) -> None:
    """An ephemeral note where the person acted, else a DM (a modal has no channel of its own)."""
    try:
        if channel:
            client.chat_postEphemeral(channel=channel, user=user_id, text=text)
        else:
            client.chat_postMessage(channel=user_id, text=text)
    except SlackApiError as error:
        log.warning("telling %s failed: %s", user_id, error.response.get("error"))


def dm(client: WebClient, user_id: str, text: str) -> None:
    """A DM (posted to the user id: Slack delivers it in the app's DM with them)."""
    ephemeral(client, channel=None, user_id=user_id, text=text)


def team_of(context: BoltContext | None) -> str | None:
    """The workspace the app is installed in, as Bolt authorised the request."""
    result = context.authorize_result if context is not None else None
    return result.team_id if result is not None else None


def retrying(action: Callable[[], T]) -> T:
    """Run a use case again when its compare-and-set lost a race: the next run sees the state moved on."""
    for _ in range(STALE_RETRIES - 1):
        try:
            return action()
        except StaleWrite:
            log.info("a concurrent change won; retrying from the stored state")
    return action()

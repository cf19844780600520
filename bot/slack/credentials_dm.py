"""The Slack calls around a temporary database user's sign-in: the DM offering it (no secret), and the one-time
modal that shows it (`bot.slack.reveal`), whose body holds the password.

They go through a Web API client of its own whose logger stays above DEBUG whatever the process's log level:
slack_sdk logs request bodies at DEBUG, and the modal's body holds the password. Failures are logged by Slack
error code or exception type only, never by message (which could quote the request).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)
QUIET_LOGGER = "bot.slack.credentials_dm.web"


class CredentialsCourier:
    def __init__(self, client: WebClient) -> None:
        quiet = logging.getLogger(QUIET_LOGGER)
        quiet.setLevel(logging.WARNING)  # slack_sdk checks its logger's own level before logging bodies
        self._client = WebClient(token=client.token, base_url=client.base_url, timeout=client.timeout,
                                 logger=quiet, retry_handlers=list(client.retry_handlers))

    def __repr__(self) -> str:
        return "CredentialsCourier()"

    def deliver(self, *, channel: str | None, text: str, blocks: list[dict[str, Any]] | None = None) -> bool:
        """Post `text` (and `blocks`) to the DM `channel`; True once Slack has it."""
        if channel is None:
            return False
        try:
            self._client.chat_postMessage(channel=channel, text=text, blocks=blocks, unfurl_links=False,
                                          unfurl_media=False)
        except SlackApiError as error:
            code = error.response.get("error") if error.response is not None else None
            log.warning("Slack chat.postMessage (credentials) failed: %s", code or "no error code")
            return False
        except Exception as error:
            log.warning("Slack chat.postMessage (credentials) failed: %s", type(error).__name__)
            return False
        return True

    def show(self, *, trigger_id: str, view: dict[str, Any]) -> bool:
        """Open `view` (which holds a secret) as a modal; True once Slack has it."""
        try:
            self._client.views_open(trigger_id=trigger_id, view=view)
        except SlackApiError as error:
            code = error.response.get("error") if error.response is not None else None
            log.warning("Slack views.open (credentials) failed: %s", code or "no error code")
            return False
        except Exception as error:
            log.warning("Slack views.open (credentials) failed: %s", type(error).__name__)
            return False
        return True

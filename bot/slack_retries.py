"""slack_sdk's retry handlers with the wait between tries handed in: `time.sleep` when serving, a recorder in tests
(so a story about Slack's 429s and 5xx does not sleep through them). Which calls are retried, how often and how
long each wait is stay slack_sdk's own rules."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

Sleep = Callable[[float], None]


LONGEST_WAIT = 5  # seconds: a 429 asking for a longer wait is not waited out by the caller's thread


class RateLimitRetries(RateLimitErrorRetryHandler):
    """429s: wait Retry-After seconds (and a random fraction), as slack_sdk does, when it asks for at most
    `longest_wait` seconds. A longer wait (Slack's per-minute tiers answer with the rest of their minute) is not
    waited out on the caller's thread: the call fails as a 429, and what sent it keeps it for a later round (the
    outbox: approval messages rendered anew, DMs) or tries again later (an App Home). Waited out, three such 429s
    held a grant worker for minutes during a burst of expiries, while the grants falling due waited for a thread."""

    def __init__(self, *, max_retry_count: int, sleep: Sleep = time.sleep, longest_wait: float = LONGEST_WAIT) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self._sleep = sleep
        self._longest = longest_wait

    def _can_retry(self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None,
                   error: Exception | None = None) -> bool:
        return response is not None and response.status_code == 429 and _retry_after(response) <= self._longest

    def prepare_for_next_attempt(self, *, state: RetryState, request: HttpRequest,
                                 response: HttpResponse | None = None, error: Exception | None = None) -> None:
        if response is None:
            raise error or RuntimeError("a rate-limit retry without a response")
        state.next_attempt_requested = True
        self._sleep(_retry_after(response) + random.random())
        state.increment_current_attempt()


def _retry_after(response: HttpResponse) -> int:
    """The answer's Retry-After in seconds (1 when it gives none, or none that reads)."""
    after = next((value for key, value in response.headers.items() if key.lower() == "retry-after"), None)
    try:
        return max(0, int(after[0])) if after else 1
    except ValueError:
        return 1


def _backoff(handler: RetryHandler, sleep: Sleep, state: RetryState) -> None:
    """slack_sdk's wait before the next try of a 5xx or a connection error: its interval calculator's."""
    state.next_attempt_requested = True
    sleep(handler.interval_calculator.calculate_sleep_duration(state.current_attempt))
    state.increment_current_attempt()


class ServerErrorRetries(ServerErrorRetryHandler):
    def __init__(self, *, max_retry_count: int, sleep: Sleep = time.sleep) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self._sleep = sleep

    def prepare_for_next_attempt(self, *, state: RetryState, request: HttpRequest,
                                 response: HttpResponse | None = None, error: Exception | None = None) -> None:
        _backoff(self, self._sleep, state)


class ConnectionErrorRetries(ConnectionErrorRetryHandler):
    def __init__(self, *, sleep: Sleep = time.sleep) -> None:
        super().__init__()
        self._sleep = sleep

    def prepare_for_next_attempt(self, *, state: RetryState, request: HttpRequest,
                                 response: HttpResponse | None = None, error: Exception | None = None) -> None:
        _backoff(self, self._sleep, state)


def retry_handlers(sleep: Sleep = time.sleep) -> list[RetryHandler]:
    """A connection error tried again once, a 429 three times after its Retry-After, a 5xx twice with back-off."""
    return [ConnectionErrorRetries(sleep=sleep), RateLimitRetries(max_retry_count=3, sleep=sleep),
            ServerErrorRetries(max_retry_count=2, sleep=sleep)]

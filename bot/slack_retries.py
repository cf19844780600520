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


class RateLimitRetries(RateLimitErrorRetryHandler):
    """429s: wait Retry-After seconds (and a random fraction), as slack_sdk does."""

    def __init__(self, *, max_retry_count: int, sleep: Sleep = time.sleep) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self._sleep = sleep

    def prepare_for_next_attempt(self, *, state: RetryState, request: HttpRequest,
                                 response: HttpResponse | None = None, error: Exception | None = None) -> None:
        if response is None:
            raise error or RuntimeError("a rate-limit retry without a response")
        state.next_attempt_requested = True
        after = next((value for key, value in response.headers.items() if key.lower() == "retry-after"), None)
        self._sleep((int(after[0]) if after else 1) + random.random())
        state.increment_current_attempt()


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

"""Observability: Prometheus metrics on a per-runtime registry, request ids, and the (optionally JSON) log format.

Each runtime owns its own `CollectorRegistry` rather than the process-wide default, so tests (and the demo)
can build several runtimes in one process. Grant gauges are read from the database at scrape time, so every
replica reports the same truth and nothing has to be kept in step by hand.
"""

from __future__ import annotations

import contextvars
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, TypeVar

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from slack_sdk.errors import SlackApiError

from access.entities import Grant
from access.model import GrantFigures
from access.ports import Clock, DatabaseHealth, Outbox, Store, StoreHealth
from bot.slack.transport import KeepAliveWebClient

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
T = TypeVar("T")
REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class ContextThreadPool(ThreadPoolExecutor):
    """A thread pool whose tasks run in a copy of the submitter's context, so the request id set for a
    Slack request reaches the log lines of the work it hands over (Bolt's listeners, the work after an ack)."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        return super().submit(contextvars.copy_context().run, fn, *args, **kwargs)
LATENESS_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
# The states in which a grant's revocation is owed once its expiry has passed.


# --- request ids and logs ---------------------------------------------------------------------------------


def new_request_id(incoming: str | None = None) -> str:
    """The caller's id when it looks like one (a proxy's X-Request-Id), else a fresh one."""
    if incoming and len(incoming) <= 64 and all(c.isalnum() or c in "-_." for c in incoming):
        return incoming
    return uuid.uuid4().hex[:16]


class RequestIdFilter(logging.Filter):
    """Stamps every record with the id of the HTTP request being served ("-" outside one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request id, and the exception type and trace."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created).astimezone().isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage(),
            "request_id": getattr(record, "request_id", REQUEST_ID.get()),
        }
        if record.exc_info:
            entry["exc_type"] = record.exc_info[0].__name__ if record.exc_info[0] else None
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


def configure_logging(*, level: str | int, json_format: bool) -> logging.Handler | None:
    """One stderr handler on the root logger in the chosen format (replacing the one set before); returns it.

    Like `logging.basicConfig`, it leaves a root logger that someone else equipped alone (pytest's capture,
    an embedding application) apart from its level.
    """
    root = logging.getLogger()
    root.setLevel(level if isinstance(level, int) else level.upper())
    ours = [h for h in root.handlers if getattr(h, "atlas_access", False)]
    if len(ours) < len(root.handlers):
        return None
    for old in ours:
        root.removeHandler(old)
    handler = logging.StreamHandler()
    handler.atlas_access = True  # type: ignore[attr-defined]
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if json_format else logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    return handler


# --- metrics ----------------------------------------------------------------------------------------------


class Metrics:
    """The runtime's metrics; with a store, the grant gauges read from the database at scrape time, and with an
    outbox, the Slack messages waiting to be sent again."""

    def __init__(self, *, store: Store | None = None, clock: Clock | None = None,
                 grace: timedelta = timedelta(seconds=120), outbox: Outbox | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("atlas_access_http_requests_total", "HTTP requests served, by path and outcome",
                                ["path", "outcome"], registry=self.registry)
        self.atlas_seconds = Histogram("atlas_access_atlas_call_seconds", "Atlas Admin API call latency",
                                       ["operation"], registry=self.registry)
        self.atlas_errors = Counter("atlas_access_atlas_call_errors_total",
                                    "Atlas calls that failed (status 0: no answer)", ["operation", "status"],
                                    registry=self.registry)
        self.slack_errors = Counter("atlas_access_slack_errors_total", "Slack Web API calls that failed",
                                    ["method", "error"], registry=self.registry)
        self.lateness = Histogram("atlas_access_revocation_lateness_seconds",
                                  "How long after its expiry a grant was revoked in Atlas",
                                  buckets=LATENESS_BUCKETS, registry=self.registry)
        if store is not None and clock is not None:
            self.registry.register(GrantCollector(store=store, clock=clock, grace=grace))
        if outbox is not None:  # `waiting()`: the Slack messages refused through every retry, kept for later
            self.registry.register(OutboxCollector(outbox))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def request_served(self, *, path: str, status: int) -> None:
        self.requests.labels(path=path, outcome=outcome_of(status)).inc()

    def atlas_call(self, operation: str, seconds: float, status: int) -> None:
        """`GatewayFactory.on_call`: latency of every call, and an error when Atlas said no or said nothing."""
        self.atlas_seconds.labels(operation=operation).observe(seconds)
        if status == 0 or status >= 400:
            self.atlas_errors.labels(operation=operation, status=str(status)).inc()

    def slack_error(self, method: str, error: str) -> None:
        self.slack_errors.labels(method=method, error=error[:64]).inc()

    def grant_event(self, action: str, grant: Grant, detail: dict[str, object]) -> None:
        """`GrantWorker`'s observer: revocation lateness, for revocations that expiry caused."""
        if action != "revoked" or detail.get("reason") != "expired":
            return
        if grant.revoked_at is None or grant.expires_at is None:
            return
        self.lateness.observe(max(0.0, (grant.revoked_at - grant.expires_at).total_seconds()))


class HealthReport:
    """What `/healthz` reports (bot.slack.http.Health): the database's write probe, and the revocations owed
    past their grace."""

    def __init__(self, *, database: StoreHealth, store: Store, clock: Clock, grace: timedelta) -> None:
        self._database, self._store, self._clock, self._grace = database, store, clock, grace

    def database(self) -> DatabaseHealth:
        return self._database.health()

    def overdue(self) -> GrantFigures:
        return grant_figures(self._store, now=self._clock.now(), grace=self._grace)


def outcome_of(status: int) -> str:
    if status < 400:
        return "ok"
    return "rejected" if status < 500 else "error"


def grant_figures(store: Store, *, now: datetime, grace: timedelta) -> GrantFigures:
    """Counts by status, and the revocations still owed `grace` after their expiry (with the oldest's age)."""
    with store.unit_of_work() as uow:
        return uow.grants.figures(now=now, grace=grace)


class GrantCollector(Collector):
    """Grants by status, and overdue revocations, from the database at scrape time."""

    def __init__(self, *, store: Store, clock: Clock, grace: timedelta) -> None:
        self._store, self._clock, self._grace = store, clock, grace

    def describe(self) -> list[Any]:
        return []  # unknown until scraped: no database query at registration

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            figures = grant_figures(self._store, now=self._clock.now(), grace=self._grace)
        except Exception as error:  # a scrape must not fail because the database is away; /healthz says so
            logging.getLogger(__name__).warning("grant metrics unavailable: %s", type(error).__name__)
            return
        grants = GaugeMetricFamily("atlas_access_grants", "Grants by status", labels=["status"])
        for status, count in figures.by_status.items():
            grants.add_metric([status.value], count)
        yield grants
        yield GaugeMetricFamily("atlas_access_grants_active", "Grants active in Atlas now",
                                value=figures.active)
        yield GaugeMetricFamily("atlas_access_overdue_revocations",
                                "Grants past expiry (plus grace) whose revocation has not happened",
                                value=figures.overdue)
        yield GaugeMetricFamily("atlas_access_oldest_overdue_revocation_seconds",
                                "Age of the oldest overdue revocation", value=figures.oldest_overdue_seconds)


# --- Slack errors -----------------------------------------------------------------------------------------


class ObservedWebClient(KeepAliveWebClient):
    """A WebClient that reports every failed call (method and Slack's error code, never the payload); its calls
    reuse kept-alive connections (bot.slack.transport)."""

    def __init__(self, *, on_error: Callable[[str, str], None] | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.on_error = on_error

    def api_call(self, api_method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().api_call(api_method, *args, **kwargs)
        except SlackApiError as error:
            self._report(api_method, str(error.response.get("error", "unknown")))
            raise
        except Exception as error:
            self._report(api_method, type(error).__name__)
            raise

    def _report(self, method: str, error: str) -> None:
        if self.on_error is not None:
            self.on_error(method, error)


class OutboxCollector(Collector):
    """Slack messages Slack refused through every retry, waiting in the outbox, from the database at scrape time."""

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            waiting = self._outbox.waiting()
        except Exception as error:
            logging.getLogger(__name__).warning("outbox metrics unavailable: %s", type(error).__name__)
            return
        yield GaugeMetricFamily("atlas_access_slack_outbox_waiting",
                                "Slack messages refused through every retry, waiting to be sent again", value=waiting)

"""Observability: /metrics (requests, Atlas calls, Slack errors, grants, overdue and late revocations),
/healthz's overdue report, request ids in responses and logs, and the JSON log format."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from access.model import GrantStatus
from bot.app import build_runtime
from bot.observability import REQUEST_ID, JsonFormatter, RequestIdFilter, configure_logging
from bot.web import server_thread
from tests.e2e.harness import ANN, BOB, READ, Harness, wait


@pytest.fixture
def world(tmp_path: Path) -> Iterator[Harness]:
    harness = Harness(tmp_path)
    try:
        yield harness
    finally:
        harness.close()


def scrape(world: Harness) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = httpx.get(world.server.url + "/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_requests_are_counted_by_outcome(world: Harness) -> None:
    # given one signed command and one forged request
    assert world.slack.command(ANN).status_code == 200
    body = b"command=%2Fatlas-access&user_id=U1"
    forged = world.slack.signed_headers(body)
    forged["X-Slack-Signature"] = "v0=" + "0" * 64
    assert world.slack.raw(body, forged).status_code == 401

    # then /metrics counts one ok and one rejected on /slack/events
    samples = scrape(world)
    assert value(samples, "atlas_access_http_requests_total", path="/slack/events", outcome="ok") == 1
    assert value(samples, "atlas_access_http_requests_total", path="/slack/events", outcome="rejected") == 1


def test_atlas_calls_report_latency_and_errors_by_operation(world: Harness) -> None:
    # given the harness's first sync made Atlas calls; when the next sync meets a 400 listing the projects
    before = scrape(world)
    assert value(before, "atlas_access_atlas_call_seconds_count", operation="getOrgGroups") >= 1
    world.sb.faults.fail_next(status=400, operation_id="getOrgGroups")
    with pytest.raises(Exception):  # noqa: B017 - the sync surfaces the Atlas error; its type is not the point
        world.runtime.sync.run("prod")

    # then the failed call is counted under its operation and status
    after = scrape(world)
    assert value(after, "atlas_access_atlas_call_errors_total", operation="getOrgGroups", status="400") == 1


def test_slack_errors_are_counted_by_method_and_error(world: Harness) -> None:
    # given Slack refuses the next chat.postEphemeral
    world.sim.fail_next("chat.postEphemeral", error="channel_not_found")

    # when the bot posts one
    with pytest.raises(Exception):  # noqa: B017 - SlackApiError, re-raised unchanged
        world.runtime.slack.chat_postEphemeral(channel="C0APPROVALS", user=ANN, text="hello")

    # then the error is counted, and nothing of the call's payload is in the labels
    samples = scrape(world)
    assert value(samples, "atlas_access_slack_errors_total", method="chat.postEphemeral",
                 error="channel_not_found") == 1


def test_grants_overdue_revocations_and_lateness(world: Harness) -> None:
    # given an active one-hour grant
    request = world.request(ANN, "payments", [READ], duration="1h")
    world.click(BOB, "approve", request)
    world.wait_grant(request, GrantStatus.ACTIVE)
    assert value(scrape(world), "atlas_access_grants_active") == 1
    assert httpx.get(world.server.url + "/healthz").json() == {"ok": True}

    # when its hour and ten more minutes pass with no sweep (the timers stalled)
    world.clock.advance(timedelta(hours=1, minutes=10))

    # then /metrics and /healthz both report the overdue revocation, still healthy (a restart would not help)
    samples = scrape(world)
    assert value(samples, "atlas_access_overdue_revocations") == 1
    assert value(samples, "atlas_access_oldest_overdue_revocation_seconds") == 600
    health = httpx.get(world.server.url + "/healthz")
    assert health.status_code == 200
    assert health.json() == {"ok": True, "overdue_revocations": 1, "oldest_overdue_seconds": 600}

    # when the sweep finally runs, the revocation is recorded as ten minutes late and nothing is overdue
    assert world.runtime.worker.run_due() == 1
    samples = scrape(world)
    assert value(samples, "atlas_access_overdue_revocations") == 0
    assert value(samples, "atlas_access_grants", status=GrantStatus.REVOKED.value) == 1
    assert value(samples, "atlas_access_revocation_lateness_seconds_count") == 1
    assert value(samples, "atlas_access_revocation_lateness_seconds_sum") == 600
    assert value(samples, "atlas_access_revocation_lateness_seconds_bucket", le="300.0") == 0
    assert value(samples, "atlas_access_revocation_lateness_seconds_bucket", le="600.0") == 1


def test_two_runtimes_in_one_process_keep_their_own_metrics(world: Harness, tmp_path: Path) -> None:
    # given a second world in the same process; when only the first serves a request
    (tmp_path / "other").mkdir()
    other = Harness(tmp_path / "other")
    try:
        httpx.get(world.server.url + "/healthz")
        # then the second has counted nothing
        assert value(scrape(world), "atlas_access_http_requests_total", path="/healthz", outcome="ok") == 1
        assert value(scrape(other), "atlas_access_http_requests_total", path="/healthz", outcome="ok") == 0
    finally:
        other.close()


@contextmanager
def recorded(logger_name: str) -> Iterator[list[logging.LogRecord]]:
    """The records `logger_name` emits meanwhile, each with its request id (as the configured handlers see it)."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)


def test_every_response_carries_a_request_id_that_the_log_lines_share(world: Harness, tmp_path: Path) -> None:
    # given a handler that records what the HTTP face logs, and a runtime whose database cannot be reached
    broken = world.settings.model_copy(update={"database_url": f"sqlite:///{tmp_path}/missing/dir/db.sqlite"})
    with recorded("bot.slack.http") as records:
        # when health is asked of both, with and without an id of the caller's
        echoed = httpx.get(world.server.url + "/healthz", headers={"X-Request-Id": "req-from-proxy.1"})
        made_up = httpx.get(world.server.url + "/nope", headers={"X-Request-Id": "no spaces <please>"})
        with server_thread(build_runtime(broken)) as server:
            failing = httpx.get(server.url + "/healthz", headers={"X-Request-Id": "req-2"})

    # then an incoming id is echoed, an odd one replaced, and the failed check's warning carries its id
    assert echoed.headers["X-Request-Id"] == "req-from-proxy.1"
    assert len(made_up.headers["X-Request-Id"]) == 16
    assert failing.status_code == 503
    warnings = [r for r in records if "health check failed" in r.getMessage()]
    assert [r.request_id for r in warnings] == ["req-2"]  # type: ignore[attr-defined]
    assert REQUEST_ID.get() == "-"  # reset once the request is served


def test_work_done_after_the_ack_logs_with_the_request_id_of_the_click(world: Harness) -> None:
    # given ann's pending request, and a Slack that refuses the ephemeral the app will send
    request = world.request(ANN, "payments", [READ])
    world.sim.fail_next("chat.postEphemeral", error="channel_not_found")
    world.slack.extra_headers = {"X-Request-Id": "click-77"}
    try:
        with recorded("bot.slack.replies") as records:
            # when ann clicks Approve on her own request, through a proxy that names the request
            assert world.click(ANN, "approve", request).status_code == 200
            # then the refusal is told after the ack, on another thread; telling her fails and is logged
            warning = wait(lambda: next((r for r in records if "telling" in r.getMessage()), None))
    finally:
        world.slack.extra_headers = {}
    # and that log line, written off the request's thread, carries the click's request id
    assert warning.threadName.startswith("after-ack") and warning.request_id == "click-77"  # type: ignore[attr-defined]


def test_the_json_format_is_one_object_a_line_with_the_request_id() -> None:
    # given the JSON formatter and a request in progress
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tests.json")
    logger.addHandler(handler)
    logger.propagate = False
    token = REQUEST_ID.set("abc123")
    try:
        logger.warning("revoking %s", "ann@example.com")
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("it failed")
    finally:
        REQUEST_ID.reset(token)
        logger.removeHandler(handler)
        logger.propagate = True

    # then each line parses, with level, logger, message, request id, and the exception's type and trace
    first, second = (json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{"))
    assert first["message"] == "revoking ann@example.com" and first["level"] == "WARNING"
    assert first["request_id"] == "abc123" and first["logger"] == "tests.json"
    assert second["exc_type"] == "ValueError" and "boom" in second["exc"]


def test_configure_logging_sets_one_handler_and_leaves_a_foreign_one_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    # given a root logger with no handlers (as in `atlas-access serve`)
    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    try:
        for h in saved:
            root.removeHandler(h)
        # when logging is configured twice with JSON
        configure_logging(level="INFO", json_format=True)
        handler = configure_logging(level="INFO", json_format=True)
        logging.getLogger("bot.test").info("hello")
        # then one handler writes JSON lines
        assert handler is not None and root.handlers == [handler]
        assert json.loads(stream.getvalue().strip())["message"] == "hello"
        # and a root logger someone else equipped keeps its handlers
        root.removeHandler(handler)
        foreign = logging.NullHandler()
        root.addHandler(foreign)
        assert configure_logging(level="DEBUG", json_format=False) is None
        assert root.handlers == [foreign] and root.level == logging.DEBUG
        root.removeHandler(foreign)
    finally:
        for h in list(root.handlers):
            root.removeHandler(h)
        for h in saved:
            root.addHandler(h)
        root.setLevel(level)

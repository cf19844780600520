"""The Slack parts on their own, against the fake Slack: the cached directory and the notifier's ordering."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from slack_sdk import WebClient

from access.entities import AccessRequest
from access.model import RequestStatus, ResourceKind
from bot.clock import ManualClock
from bot.slack.directory import SlackDirectory
from bot.slack.notifier import SlackNotifier
from bot.slack_sim import FakeSlackWebAPI
from storage.crypto import SecretBox
from storage.engine import make_engine
from storage.migrations import create_all
from storage.outbox import SqlOutbox
from storage.store import SqlStore
from storage.testing import sqlite_url
from tests.e2e.harness import CHANNEL, TOKEN, seed_slack

NOW = datetime(2026, 1, 5, 9, tzinfo=UTC)


@pytest.fixture
def sim() -> Iterator[FakeSlackWebAPI]:
    with FakeSlackWebAPI(token=TOKEN) as fake:
        seed_slack(fake)
        yield fake


@pytest.fixture
def client(sim: FakeSlackWebAPI) -> WebClient:
    return WebClient(token=TOKEN, base_url=sim.url + "/api/")  # no retry handlers: failures surface at once


def test_user_groups_are_found_by_handle_or_id_and_cached_for_at_most_a_minute(sim: FakeSlackWebAPI,
                                                                               client: WebClient) -> None:
    clock = ManualClock(NOW)
    directory = SlackDirectory(client, clock=clock)
    assert directory.group_members("payments-oncall") == {"U2", "U3"}
    assert directory.group_members("@payments-oncall") == {"U2", "U3"}
    assert directory.group_members("S1") == {"U2", "U3"}
    assert directory.group_members("ghost-team") is None
    assert directory.group_id("payments-oncall") == "S1"
    assert len(sim.calls_to("usergroups.list")) == 1

    # when the group changes in Slack, the cache answers until its time is up
    sim.add_usergroup("S1", handle="payments-oncall", members=["U2"])
    clock.advance(timedelta(seconds=59))
    assert directory.group_members("S1") == {"U2", "U3"}
    clock.advance(timedelta(seconds=1))
    assert directory.group_members("S1") == {"U2"}
    assert len(sim.calls_to("usergroups.list")) == 2


@pytest.mark.parametrize("ttl", [61, 300, -1])
def test_the_directory_cannot_keep_answers_longer_than_a_minute(client: WebClient, ttl: float) -> None:
    with pytest.raises(ValueError, match="0 to 60 seconds"):
        SlackDirectory(client, ttl_seconds=ttl)


def test_people_are_looked_up_once_and_unknown_ones_are_none(sim: FakeSlackWebAPI, client: WebClient) -> None:
    directory = SlackDirectory(client, clock=ManualClock(NOW))
    assert directory.email_for_user("U1") == "ann@example.com"
    assert directory.email_for_user("U1") == "ann@example.com"
    assert directory.email_for_user("U6") is None  # no email on the profile
    assert directory.email_for_user("U404") is None
    assert directory.user_id_for_email("Dan@Example.com") == "U4"
    assert directory.user_id_for_email("nobody@example.com") is None
    assert directory.user_id_for_email("nobody@example.com") is None  # a definite miss is remembered
    assert len(sim.calls_to("users.info")) == 3 and len(sim.calls_to("users.lookupByEmail")) == 2
    assert directory.user("U9").team_id == "T2"  # type: ignore[union-attr]


def test_slack_trouble_is_unknown_for_now_and_logged_without_the_token(
    sim: FakeSlackWebAPI, client: WebClient, caplog: pytest.LogCaptureFixture
) -> None:
    directory = SlackDirectory(client, clock=ManualClock(NOW))
    sim.fail_next("usergroups.list", status=500)
    sim.fail_next("users.info", error="ratelimited")
    with caplog.at_level(logging.WARNING):
        assert directory.group_members("payments-oncall") is None
        assert directory.email_for_user("U1") is None
    # not remembered: the next question asks Slack again
    assert directory.group_members("payments-oncall") == {"U2", "U3"}
    assert directory.email_for_user("U1") == "ann@example.com"
    assert "usergroups.list" in caplog.text and TOKEN not in caplog.text


def _request(**changes: object) -> AccessRequest:
    request = AccessRequest(
        id=7, requester_id="U1", requester_email="ann@example.com", integration="prod", flow="prod-projects",
        resource_kind=ResourceKind.PROJECT, organization_id="a" * 24, resource_id="b" * 24,
        resource_name="payments", roles=("GROUP_READ_ONLY",), duration_seconds=3600, justification="INC-1 debug",
        approvers=("U2", "U3"), approver_group="payments-oncall", channel=CHANNEL, created_at=NOW, updated_at=NOW,
        version=1,
    )  # fmt: skip
    return replace(request, **changes)  # type: ignore[arg-type]


def test_the_approval_message_never_steps_back_to_an_older_state(sim: FakeSlackWebAPI, client: WebClient,
                                                                  tmp_path: Path) -> None:
    from access.config import IntegrationSpec

    spec = IntegrationSpec.model_validate({
        "name": "prod", "organization_id": "a" * 24, "approval_channel": CHANNEL,
        "credentials": {"type": "api_key", "public_key_env": "PUB", "private_key_env": "PRIV"},
    })  # fmt: skip
    clock = ManualClock(NOW)
    engine = make_engine(sqlite_url(tmp_path))
    create_all(engine)
    notifier = SlackNotifier(client, directory=SlackDirectory(client), store=SqlStore(engine, SecretBox(None)),
                             outbox=SqlOutbox(engine, clock), clock=clock)
    channel, ts = notifier.post_request(request=_request(), integration=spec) or ("", "")
    assert "<!subteam^S1>" in str(sim.message(channel, ts)["blocks"])
    posted = _request(channel=channel, message_ts=ts, version=2)

    # when a newer render (denied, version 4) lands before an older one (version 3)
    denied = replace(posted, version=4, deny_reason="no", decided_by="U2", decided_at=NOW, status=RequestStatus.DENIED)
    notifier.update_request(request=denied, grant=None, integration=spec)
    notifier.update_request(request=replace(posted, version=3), grant=None, integration=spec)

    # then the older one is not sent, and the message shows the newer state
    assert len(sim.calls_to("chat.update")) == 1
    assert "Denied by <@U2>" in str(sim.message(channel, ts)["blocks"])

"""Fixtures for the fake Slack's own tests: a started sim with a manual clock, a seeded directory, a WebClient."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from bot.clock import ManualClock
from bot.slack_sim import FakeSlackWebAPI

TOKEN = "xoxb-sim-test-token"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sim(clock: ManualClock) -> Iterator[FakeSlackWebAPI]:
    fake = FakeSlackWebAPI(token=TOKEN, clock=clock).start()
    fake.add_user("U1", name="ann", email="ann@example.com")
    fake.add_user("U2", name="bob", email="Bob@Example.com")
    fake.add_user("U3", name="cyd", email="cyd@example.com")
    fake.add_usergroup("S1", handle="payments-oncall", members=["U2", "U3"])
    fake.add_channel("C1", name="approvals")
    yield fake
    fake.stop()


@pytest.fixture
def client(sim: FakeSlackWebAPI) -> WebClient:
    return WebClient(token=TOKEN, base_url=sim.url + "/api/")

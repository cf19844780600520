"""The end-to-end harness fixture: one fresh world (Slack, Atlas, database, app server) per story."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Harness
from tests.e2e.leaks import LeakWatch


@pytest.fixture(autouse=True)
def no_secret_leaks() -> Iterator[LeakWatch]:
    """Every story: no secret of its worlds in a log line, a Slack call, or a database row (see `leaks`)."""
    Harness.opened.clear()
    watch = LeakWatch().start()
    try:
        yield watch
    finally:
        watch.stop()
    worlds, Harness.opened[:] = list(Harness.opened), []
    assert watch.findings(worlds) == []


@pytest.fixture
def world(tmp_path: Path) -> Iterator[Harness]:
    harness = Harness(tmp_path)
    try:
        yield harness
    finally:
        harness.close()

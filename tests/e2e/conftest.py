"""The end-to-end harness fixture: one fresh world (Slack, Atlas, database, app server) per story."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Harness


@pytest.fixture
def world(tmp_path: Path) -> Iterator[Harness]:
    harness = Harness(tmp_path)
    try:
        yield harness
    finally:
        harness.close()

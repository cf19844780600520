"""The use cases' world, built fresh for each test (about a millisecond): see tests/usecases/world.py."""

from __future__ import annotations

import pytest

from tests.usecases.world import World


@pytest.fixture
def world() -> World:
    return World()

"""Fixtures for the client and gateway tests (the helpers they build on are in tests/atlas/helpers.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.atlas.helpers import World, new_world


@pytest.fixture
def world() -> Iterator[World]:
    built = new_world()
    yield built
    for client in built.clients:
        client.close()

"""Suite-wide pytest set-up: every Atlas request any test makes is checked against the official spec, and the
slow tests (real processes, benchmarks) are handed out first, so under xdist they overlap the many quick ones
instead of trailing after them."""

import pytest

pytest_plugins = ["tests.support.atlas_conformance", "tests.support.vendor_conformance", "pytester"]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable: otherwise as collected

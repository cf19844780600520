"""pytest plugin: every request the PagerDuty and Okta sandboxes receive during the suite is checked against their
official specs (tests/support/vendor_spec.py), as tests/support/atlas_conformance.py does for Atlas.

Each sandbox appends its requests as JSON lines to the file its environment variable names
(PAGERDUTY_SANDBOX_RECORD, OKTA_SANDBOX_RECORD); this plugin names both at start-up (so subprocesses inherit
them), reads the new lines after each test, and fails the test that made a request the spec does not allow. A
test that breaks a spec on purpose says so with `@pytest.mark.vendor_nonconforming`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.atlas_conformance import RecordTail
from tests.support.vendor_spec import VENDORS, load_vendor_spec

ENVS = {"pagerduty": "PAGERDUTY_SANDBOX_RECORD", "okta": "OKTA_SANDBOX_RECORD"}
MARKER = "vendor_nonconforming"
_TAILS = pytest.StashKey[dict[str, RecordTail]]()
_CHECKED = pytest.StashKey[dict[str, int]]()
_SAVED = pytest.StashKey[tuple[dict[str, str | None], str]]()


def violations(vendor: str, lines: list[str], checked: dict[str, int]) -> list[str]:
    problems: list[str] = []
    for line in lines:
        checked[vendor] += 1
        try:
            record: Any = json.loads(line)
        except json.JSONDecodeError:
            problems.append(f"unreadable record line: {line[:200]!r}")
            continue
        problems += load_vendor_spec(vendor).check(record)
    return problems


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}: the test breaks a vendor spec on purpose; skip the check")
    for vendor, path in VENDORS.items():
        if not path.is_file():
            raise pytest.UsageError(f"vendor conformance: the {vendor} spec is missing at {path}; restore it with "
                                    "scripts/trim_specs.py")
    directory = tempfile.mkdtemp(prefix="vendor-sandbox-record-")
    config.stash[_SAVED] = ({env: os.environ.get(env) for env in ENVS.values()}, directory)
    tails = {}
    for vendor, env in ENVS.items():
        record = Path(directory) / f"{vendor}.jsonl"
        record.touch()
        os.environ[env] = str(record)
        tails[vendor] = RecordTail(record)
    config.stash[_TAILS] = tails
    config.stash[_CHECKED] = dict.fromkeys(ENVS, 0)


def pytest_unconfigure(config: pytest.Config) -> None:
    if _SAVED not in config.stash:
        return
    saved, directory = config.stash[_SAVED]
    for env, value in saved.items():
        if value is None:
            os.environ.pop(env, None)
        else:
            os.environ[env] = value
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(autouse=True)
def _vendor_requests_conform(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    tails, checked = request.config.stash[_TAILS], request.config.stash[_CHECKED]
    lines = {vendor: tail.read() for vendor, tail in tails.items()}
    if request.node.get_closest_marker(MARKER) is not None:
        return
    problems = [p for vendor, read in lines.items() for p in violations(vendor, read, checked)]
    if problems:
        pytest.fail("Vendor requests that break their spec:\n" + "\n".join(f"  - {p}" for p in problems),
                    pytrace=False)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    checked = config.stash.get(_CHECKED, None)
    if checked and any(checked.values()):
        terminalreporter.write_line("vendor conformance: " + ", ".join(
            f"{count} {vendor} requests" for vendor, count in checked.items()) + " checked against their specs")

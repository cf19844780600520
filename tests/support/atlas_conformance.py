"""pytest plugin: every Atlas request the sandbox receives during the suite is checked against the official spec.

The Atlas sandbox appends each request it receives as a JSON line to the file named by ATLAS_SANDBOX_RECORD
(method, path, query, headers, body, operation_id, status). This plugin names that file at start-up (so
subprocesses inherit it), reads the new lines after each test and fails the test that made a request the spec
does not allow: an unknown or deprecated operation, a version the operation does not list (or one past its
sunset), an undeclared query parameter, a body that breaks the request schema. A test that breaks the spec on
purpose says so with `@pytest.mark.atlas_nonconforming`. The spec is the repository's trimmed copy, so the checks
always run; ATLAS_OPENAPI_SPEC may name another copy (a newer full spec to try), and a name that is not a file
stops the run at once rather than leave requests unchecked.
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

from tests.support.atlas_spec import SPEC_ENV, AtlasSpec, load_spec, spec_path

RECORD_ENV = "ATLAS_SANDBOX_RECORD"
MARKER = "atlas_nonconforming"


class RecordTail:
    """Reads the complete lines appended to the record file since the last read (a half-written line waits)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.position = 0

    def read(self) -> list[str]:
        if not self.path.exists():
            return []
        with self.path.open("rb") as handle:
            handle.seek(self.position)
            chunk = handle.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self.position += len(complete)
        return [line for line in complete.decode("utf-8", errors="replace").splitlines() if line.strip()]


class Conformance:
    """The session's state: where requests are recorded, the spec (parsed on first need), what was checked."""

    def __init__(self, *, record: Path, spec_path: Path) -> None:
        self.tail = RecordTail(record)
        self.spec_path = spec_path
        self.checked = 0
        self.late_violations: list[str] = []

    def spec(self) -> AtlasSpec:
        return load_spec(str(self.spec_path))

    def violations(self, lines: list[str]) -> list[str]:
        if not lines:
            return []
        spec = self.spec()
        problems: list[str] = []
        for line in lines:
            self.checked += 1
            try:
                record: Any = json.loads(line)
            except json.JSONDecodeError:
                problems.append(f"unreadable record line: {line[:200]!r}")
                continue
            problems += spec.check(record) if isinstance(record, dict) else [f"record is not an object: {line[:200]!r}"]
        return problems


_STATE = pytest.StashKey[Conformance]()
_PREVIOUS = pytest.StashKey[tuple[str | None, str]]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}: the test sends Atlas requests that break the spec on purpose; skip the conformance check"
    )
    path = spec_path()
    if not path.is_file():
        named = f"named by {SPEC_ENV}" if os.environ.get(SPEC_ENV) else "restore it with scripts/trim_specs.py"
        raise pytest.UsageError(
            f"atlas conformance: the Atlas Admin API spec is missing at {path} ({named}); every Atlas request "
            "must be checked against it"
        )
    directory = tempfile.mkdtemp(prefix="atlas-sandbox-record-")
    record = Path(directory) / "requests.jsonl"
    record.touch()
    config.stash[_PREVIOUS] = (os.environ.get(RECORD_ENV), directory)
    os.environ[RECORD_ENV] = str(record)
    config.stash[_STATE] = Conformance(record=record, spec_path=path)


def pytest_unconfigure(config: pytest.Config) -> None:
    if _PREVIOUS not in config.stash:
        return
    previous, directory = config.stash[_PREVIOUS]
    if previous is None:
        os.environ.pop(RECORD_ENV, None)
    else:
        os.environ[RECORD_ENV] = previous
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(autouse=True)
def _atlas_requests_conform(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each test, check the Atlas requests recorded since the last check (its fixtures' included)."""
    yield
    state = request.config.stash[_STATE]
    lines = state.tail.read()
    if request.node.get_closest_marker(MARKER) is not None:
        return
    problems = state.violations(lines)
    if problems:
        listed = "\n".join(f"  - {problem}" for problem in problems)
        pytest.fail(f"Atlas requests that break {state.spec_path.name}:\n{listed}", pytrace=False)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Requests made after the last test (session fixtures' teardown) are checked too, and fail the run."""
    state = session.config.stash.get(_STATE, None)
    if state is None:
        return
    state.late_violations = state.violations(state.tail.read())
    if state.late_violations and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(_STATE, None)
    if state is None:
        return
    if state.checked:
        terminalreporter.write_line(f"atlas conformance: {state.checked} Atlas requests checked against the spec")
    for problem in state.late_violations:
        terminalreporter.write_line(f"atlas conformance (after the last test): {problem}", red=True)

"""The conformance plugin in a pytest run of its own: it fails the test that broke the spec, and only that one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
V = "application/vnd.atlas.2025-02-19+json"

SMALL_SPEC = {
    "openapi": "3.0.1",
    "paths": {
        "/api/atlas/v2/orgs/{orgId}": {"get": {"operationId": "getOrg", "responses": {"200": {"content": {V: {}}}}}},
        "/api/atlas/v2/orgs/{orgId}/invites": {
            "get": {"operationId": "listOrgInvites", "deprecated": True, "responses": {"200": {"content": {V: {}}}}}
        },
    },
}

TESTS = f'''
import json, os, subprocess, sys
import pytest

def record(path):
    line = {{"method": "GET", "path": path, "query": {{}}, "headers": {{"accept": "{V}"}}, "body": None,
             "operation_id": None, "status": 200}}
    with open(os.environ["ATLAS_SANDBOX_RECORD"], "a") as handle:
        handle.write(json.dumps(line) + "\\n")

def test_conforming():
    record("/api/atlas/v2/orgs/o1")

def test_deprecated():
    record("/api/atlas/v2/orgs/o1/invites")

@pytest.mark.atlas_nonconforming
def test_on_purpose():
    record("/api/atlas/v2/orgs/o1/invites")

def test_subprocesses_inherit_the_record_file():
    # A sandbox in another process writes to the same file.
    code = "import os, sys; sys.path[:0] = [os.getcwd()]; from test_plugin_run import record; record('/nope')"
    subprocess.run([sys.executable, "-c", code], check=True)
'''


@pytest.fixture
def run_env(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    spec = pytester.path / "spec.json"  # JSON is YAML: a tiny spec keeps the child run fast
    spec.write_text(json.dumps(SMALL_SPEC))
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("ATLAS_OPENAPI_SPEC", str(spec))
    return spec


def test_given_records_then_only_the_tests_that_broke_the_spec_fail(pytester: pytest.Pytester, run_env: Path) -> None:
    pytester.makepyfile(test_plugin_run=TESTS)
    result = pytester.runpytest("-p", "tests.support.atlas_conformance", "-p", "no:cacheprovider")
    # The check runs in the autouse fixture's teardown, so pytest reports an error at teardown of that test.
    result.assert_outcomes(passed=4, errors=2)
    result.stdout.fnmatch_lines([
        "*ERROR at teardown of test_deprecated*", "*the operation is deprecated*",
        "*ERROR at teardown of test_subprocesses_inherit_the_record_file*",
        "*GET /nope: no operation in the spec has this path*",
        "*atlas conformance: 3 Atlas requests checked against the spec*",  # the opted-out one is not checked
    ])  # fmt: skip
    assert "test_on_purpose" not in result.stdout.str()


def test_requests_after_the_last_test_fail_the_run(pytester: pytest.Pytester, run_env: Path) -> None:
    pytester.makeconftest(TESTS.split("def test_conforming")[0] + '''
@pytest.fixture(scope="session", autouse=True)
def sandbox_left_running():
    yield
    record("/api/atlas/v2/orgs/o1/invites")
''')  # fmt: skip
    pytester.makepyfile(test_ok="def test_ok():\n    pass\n")
    result = pytester.runpytest("-p", "tests.support.atlas_conformance", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*atlas conformance (after the last test)*the operation is deprecated*"])


def test_given_the_spec_override_names_no_file_then_the_session_fails_at_once(
    pytester: pytest.Pytester, run_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A missing spec never turns the checks off quietly, in CI or not.
    monkeypatch.setenv("ATLAS_OPENAPI_SPEC", str(pytester.path / "absent.yaml"))
    pytester.makepyfile(test_plugin_run=TESTS)
    result = pytester.runpytest("-p", "tests.support.atlas_conformance", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*the Atlas Admin API spec is missing at*absent.yaml (named by ATLAS_OPENAPI_SPEC)*"])


REAL_TESTS = """
import json, os

V2023, V2025 = "application/vnd.atlas.2023-01-01+json", "application/vnd.atlas.2025-02-19+json"
ROLE = "/api/atlas/v2/orgs/5f1a2b3c4d5e6f7a8b9c0d1e/users/6a1b2c3d4e5f6a7b8c9d0e1f:addRole"

def record(method, path, version, body=None):
    headers = {"accept": version, "content-type": version} if body is not None else {"accept": version}
    line = {"method": method, "path": path, "query": {}, "headers": headers, "body": body, "operation_id": None,
            "status": 200}
    with open(os.environ["ATLAS_SANDBOX_RECORD"], "a") as handle:
        handle.write(json.dumps(line) + "\\n")

def test_conforming():
    record("GET", "/api/atlas/v2/orgs/o1", V2023)
    record("POST", ROLE, V2025, {"orgRole": "ORG_READ_ONLY"})

def test_deprecated():
    record("GET", "/api/atlas/v2/orgs/o1/invites", V2023)

def test_a_role_atlas_does_not_have():
    record("POST", ROLE, V2025, {"orgRole": "ORG_GOD"})
"""


def test_without_an_override_the_repositorys_trimmed_copy_is_checked_against(
    pytester: pytest.Pytester, run_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No ../shared needed, no environment: the copy in the repository catches a deprecated call and a bad body.
    monkeypatch.delenv("ATLAS_OPENAPI_SPEC")
    pytester.makepyfile(test_real_spec=REAL_TESTS)
    result = pytester.runpytest("-p", "tests.support.atlas_conformance", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, errors=2)
    result.stdout.fnmatch_lines([
        "*ERROR at teardown of test_deprecated*", "*(listOrgInvites): the operation is deprecated*",
        "*ERROR at teardown of test_a_role_atlas_does_not_have*",
        "*(addOrgUserRole): body orgRole: 'ORG_GOD' is not one of*",
        "*atlas conformance: 4 Atlas requests checked against the spec*",
    ])  # fmt: skip

"""Every request is recorded in order, in memory and as JSON lines, without a secret in sight."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from atlas.sandbox import RecordedRequest, Sandbox, SandboxTransport
from tests.atlas.sandbox.conftest import Acme


def test_calls_record_what_was_asked_and_answered(acme: Acme) -> None:
    api = acme.digest()
    api.call("getOrg", orgId=acme.org_id)
    api.call("listOrgUsers", orgId=acme.org_id, params={"username": "ann@example.com"})
    api.call("createOrgUser", orgId=acme.org_id,
             json={"username": "ann@example.com", "roles": {"orgRoles": ["ORG_MEMBER"]}})
    get_org, users, created = acme.sandbox.calls
    assert get_org == RecordedRequest(method="GET", path=f"/api/atlas/v2/orgs/{acme.org_id}", query={},
                                      headers=get_org.headers, body=None, operation_id="getOrg", status=200)
    assert get_org.headers["authorization"] == "Digest" and get_org.headers["accept"].endswith("2023-01-01+json")
    assert users.query == {"username": "ann@example.com"} and users.operation_id == "listOrgUsers"
    assert created.body == {"username": "ann@example.com", "roles": {"orgRoles": ["ORG_MEMBER"]}}
    assert created.status == 201 and acme.sandbox.count("createOrgUser") == 1
    # The Digest challenge that preceded them is kept apart
    assert [c.status for c in acme.sandbox.challenges] == [401]


@pytest.mark.atlas_nonconforming
def test_rejected_requests_are_recorded_too(acme: Acme) -> None:
    acme.digest(private_key="wrong").call("getOrg", orgId=acme.org_id)
    acme.http().get("/api/atlas/v2/nowhere")
    assert [(c.operation_id, c.status) for c in acme.sandbox.calls] == [("getOrg", 401), (None, 404)]


def test_no_secret_reaches_a_record(acme: Acme, tmp_path: Path) -> None:
    sandbox = Sandbox(clock=acme.clock, record_path=str(tmp_path / "calls.jsonl"))
    org = sandbox.add_org(name="Acme")
    client_id, secret = sandbox.add_service_account(org_id=org)
    group = sandbox.add_project(org_id=org, name="p")
    http = acme.http(transport=SandboxTransport(sandbox))
    token = http.post("/api/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)).json()[
        "access_token"]
    media = "application/vnd.atlas.2023-01-01+json"
    http.post(f"/api/atlas/v2/groups/{group}/databaseUsers", headers={
        "Authorization": f"Bearer {token}", "Accept": media, "Content-Type": media}, json={
        "username": "u", "databaseName": "admin", "password": "hunter2-hunter2", "roles": [
            {"roleName": "read", "databaseName": "x"}]})
    http.post("/api/oauth/revoke", data={"token": token}, auth=(client_id, secret))
    text = (tmp_path / "calls.jsonl").read_text()
    for secret_text in (secret, token, "hunter2-hunter2"):
        assert secret_text not in text and secret_text not in repr(sandbox.calls)
    assert [c.headers["authorization"] for c in sandbox.calls] == ["Basic", "Bearer", "Basic"]


def test_the_jsonl_file_gets_one_line_per_request_with_a_timestamp(acme: Acme, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the record file named by the environment when the sandbox is built
    record = tmp_path / "env.jsonl"
    monkeypatch.setenv("ATLAS_SANDBOX_RECORD", str(record))
    sandbox = Sandbox(clock=acme.clock)
    org = sandbox.add_org(name="Acme")
    public, private = sandbox.add_api_key(org_id=org)
    http = acme.http(transport=SandboxTransport(sandbox), base_url="https://test.invalid",
                     auth=httpx.DigestAuth(public, private))
    http.get(f"/api/atlas/v2/orgs/{org}", headers={"Accept": "application/vnd.atlas.2023-01-01+json"})
    lines = [json.loads(line) for line in record.read_text().splitlines()]
    # Then both halves of the handshake are there, as the conformance check expects
    assert [(line["status"], line["operation_id"]) for line in lines] == [(401, "getOrg"), (200, "getOrg")]
    assert set(lines[1]) == {"method", "path", "query", "headers", "body", "operation_id", "status", "ts"}
    assert lines[1]["ts"] == "2026-03-02T09:00:00Z"

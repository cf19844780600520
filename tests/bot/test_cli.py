"""The operator's command line: config apply/show, sync, db upgrade, keygen — exit codes, messages, no half-writes."""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.fernet import Fernet

from bot.cli import main
from storage.crypto import SecretBox
from storage.engine import make_engine
from storage.store import SqlStore
from tests.access.test_config import VALID


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Given a fresh SQLite database and a secret key in the environment."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("ATLAS_ACCESS_SECRET_KEY", Fernet.generate_key().decode())
    return tmp_path


def write(tmp: Path, data: Any, name: str = "config.yml") -> Path:
    path = tmp / name
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data, encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_apply_creates_then_updates_by_name(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "config", "apply", str(write(env, VALID)))
    assert code == 0
    assert "created integration prod" in out and "created access flow prod-projects" in out
    code, out, _ = run(capsys, "config", "apply", str(write(env, VALID)))
    assert code == 0 and "updated integration prod" in out


@pytest.mark.parametrize(("path", "value", "named"), [
    (("integrations", 0, "organization_id"), "123", "integrations[0].organization_id"),
    (("integrations", 0, "name"), "bad name", "integrations[0].name"),
    (("integrations", 0, "credential_rotation_days"), 0, "integrations[0].credential_rotation_days"),
    (("integrations", 0, "integration_owners"), [], "resource_owner needs integration_owners"),
    (("integrations", 0, "remove_unmanaged_roles"), "sometimes", "integrations[0].remove_unmanaged_roles"),
    (("access_flows", 0, "integration"), "nowhere", "access_flows[0].integration"),
    (("access_flows", 0, "roles"), ["GROUP_GOD"], "access_flows[0].roles[0]"),
    (("access_flows", 0, "resources"), {"types": ["cluster-ish"]}, "access_flows[0].resources.types[0]"),
])
def test_invalid_config_names_the_field_and_writes_nothing(
    env: Path, capsys: pytest.CaptureFixture[str], path: tuple[Any, ...], value: Any, named: str
) -> None:
    data = copy.deepcopy(VALID)
    target: Any = data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    code, out, err = run(capsys, "config", "apply", str(write(env, data)))
    assert code == 2
    assert named in err and "Traceback" not in err
    code, out, _ = run(capsys, "config", "show")
    assert code == 0 and yaml.safe_load(out) == {"integrations": [], "access_flows": []}


def test_a_valid_integration_is_not_written_when_a_flow_in_the_same_file_is_invalid(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = copy.deepcopy(VALID)
    data["access_flows"].append({**data["access_flows"][0], "name": "second", "integration": "ghost"})
    code, _, err = run(capsys, "config", "apply", str(write(env, data)))
    assert code == 2 and "access_flows[1].integration" in err
    _, out, _ = run(capsys, "config", "show")
    assert yaml.safe_load(out)["integrations"] == []


@pytest.mark.parametrize("content", ["integrations: [", "- just\n- a list\n"])
def test_unreadable_yaml_is_a_clear_error(env: Path, capsys: pytest.CaptureFixture[str], content: str) -> None:
    code, _, err = run(capsys, "config", "apply", str(write(env, content)))
    assert code == 2 and err.startswith("error:")


def test_a_missing_file_is_a_clear_error(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "config", "apply", str(env / "nope.yml"))
    assert code == 2 and "cannot read the file" in err


def test_show_redacts_literal_secrets(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = copy.deepcopy(VALID)
    data["integrations"][0]["credentials"] = {"type": "api_key", "public_key": "abcdefgh",
                                              "private_key": "0f6a-very-secret-private-key"}
    assert run(capsys, "config", "apply", str(write(env, data)))[0] == 0
    code, out, err = run(capsys, "config", "show")
    assert code == 0 and "very-secret" not in out + err
    shown = yaml.safe_load(out)
    assert shown["integrations"][0]["credentials"] == {"type": "api_key", "public_key": "abcdefgh",
                                                       "private_key": "<redacted>"}
    assert shown["access_flows"][0]["max_duration"] == "8h"


def stored_private_key(name: str = "prod") -> str | None:
    """What the database holds for the integration's private key, decrypted with the environment's key."""
    store = SqlStore(make_engine(os.environ["DATABASE_URL"]), SecretBox(os.environ["ATLAS_ACCESS_SECRET_KEY"]))
    try:
        with store.unit_of_work() as uow:
            spec = uow.integrations.get(name)
    finally:
        store.dispose()
    key = getattr(spec.credentials, "private_key", None) if spec else None
    return key.get_secret_value() if key is not None else None


def test_what_show_printed_applies_back_keeping_the_stored_secret(env: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    # given an integration whose private key was written in the file
    data = copy.deepcopy(VALID)
    data["integrations"][0]["credentials"] = {"type": "api_key", "public_key": "abcdefgh",
                                              "private_key": "0f6a-very-secret-private-key"}
    assert run(capsys, "config", "apply", str(write(env, data)))[0] == 0
    # when the operator applies what `config show` printed (the key shown as <redacted>), a flow changed
    printed = yaml.safe_load(run(capsys, "config", "show")[1])
    printed["access_flows"][0]["max_duration"] = "4h"
    code, _, err = run(capsys, "config", "apply", str(write(env, printed, "shown.yml")))
    # then it applies, and the stored key is still the real one, not the marker
    assert code == 0, err
    assert stored_private_key() == "0f6a-very-secret-private-key"
    assert yaml.safe_load(run(capsys, "config", "show")[1])["access_flows"][0]["max_duration"] == "4h"


@pytest.mark.parametrize("stored", [None, {"type": "api_key", "public_key": "abcdefgh",
                                           "private_key_env": "ATLAS_PRIVATE_KEY"}],
                         ids=["a new integration", "one whose key comes from the environment"])
def test_the_redacted_marker_with_no_secret_stored_is_refused_and_changes_nothing(
    env: Path, capsys: pytest.CaptureFixture[str], stored: dict[str, str] | None,
) -> None:
    if stored is not None:
        data = copy.deepcopy(VALID)
        data["integrations"][0]["credentials"] = stored
        assert run(capsys, "config", "apply", str(write(env, data)))[0] == 0
    before = run(capsys, "config", "show")[1]
    # when a file names <redacted> as the key of an integration that has no stored key to keep
    data = copy.deepcopy(VALID)
    data["integrations"][0]["credentials"] = {"type": "api_key", "public_key": "abcdefgh", "private_key": "<redacted>"}
    data["access_flows"][0]["max_duration"] = "4h"
    code, _, err = run(capsys, "config", "apply", str(write(env, data, "marker.yml")))
    # then it is refused with the field named and what to do, and nothing changed
    assert code == 2 and "integrations[0].credentials.private_key" in err and "none stored to keep" in err
    assert run(capsys, "config", "show")[1] == before
    assert stored_private_key() is None


@pytest.mark.parametrize(("in_file", "shown"), [(None, False), (False, False), (True, True)])
def test_remove_unmanaged_roles_round_trips_through_show_and_apply(
    env: Path, capsys: pytest.CaptureFixture[str], in_file: bool | None, shown: bool
) -> None:
    # given a file that sets remove_unmanaged_roles (or leaves it out: the default), applied
    data = copy.deepcopy(VALID)
    if in_file is not None:
        data["integrations"][0]["remove_unmanaged_roles"] = in_file
    assert run(capsys, "config", "apply", str(write(env, data)))[0] == 0

    # when the configuration is shown, then it prints the setting, always (false too)
    code, out, _ = run(capsys, "config", "show")
    printed = yaml.safe_load(out)
    assert code == 0 and printed["integrations"][0]["remove_unmanaged_roles"] is shown

    # and applying what `config show` printed, then showing it again, gives the same document
    assert run(capsys, "config", "apply", str(write(env, printed, "shown.yml")))[0] == 0
    assert yaml.safe_load(run(capsys, "config", "show")[1]) == printed

    # and flipping it in that file is what the next `config show` says
    printed["integrations"][0]["remove_unmanaged_roles"] = not shown
    assert run(capsys, "config", "apply", str(write(env, printed, "flipped.yml")))[0] == 0
    assert yaml.safe_load(run(capsys, "config", "show")[1])["integrations"][0]["remove_unmanaged_roles"] is not shown


def test_keygen_prints_a_fernet_key(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "keygen")
    assert code == 0
    Fernet(out.strip().encode())


def test_db_upgrade(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "db", "upgrade")
    assert code == 0 and "latest" in out
    assert (env / "cli.db").exists()


@pytest.fixture
def sandbox_server() -> Iterator[Any]:
    from atlas.sandbox import Sandbox, SandboxServer

    sandbox = Sandbox()
    server = SandboxServer(sandbox, host="127.0.0.1", port=0)
    server.start()
    try:
        yield sandbox, server
    finally:
        server.stop()


def test_sync_prints_what_changed_and_is_idempotent(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, sandbox_server: Any
) -> None:
    sandbox, server = sandbox_server
    org = sandbox.add_org(name="Acme")
    pay = sandbox.add_project(org_id=org, name="payments", tags={"owner": "payments-oncall"})
    sandbox.add_cluster(group_id=pay, name="Cluster0", state="IDLE")
    sandbox.add_project(org_id=org, name="search", tags={})
    sandbox.add_user(org_id=org, username="ann@example.com", org_roles=["ORG_MEMBER"])
    public, private = sandbox.add_api_key(org_id=org, roles=["ORG_OWNER"])
    monkeypatch.setenv("ATLAS_BASE_URL", server.url)
    monkeypatch.setenv("ATLAS_PUBLIC_KEY", public)
    monkeypatch.setenv("ATLAS_PRIVATE_KEY", private)
    data = copy.deepcopy(VALID)
    data["integrations"][0]["organization_id"] = org
    assert run(capsys, "config", "apply", str(write(env, data)))[0] == 0

    code, out, err = run(capsys, "sync")
    assert code == 0, err
    assert "prod: 1 organizations, 2 projects, 1 clusters" in out
    assert "new projects (2): payments, search" in out or "new projects (2): search, payments" in out
    assert "payments/Cluster0" in out and "ann@example.com" in out
    assert private not in out + err

    code, out, _ = run(capsys, "sync", "--integration", "prod")
    assert code == 0 and "no changes" in out


def test_sync_with_bad_credentials_says_so_in_one_sentence(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, sandbox_server: Any
) -> None:
    sandbox, server = sandbox_server
    org = sandbox.add_org(name="Acme")
    monkeypatch.setenv("ATLAS_BASE_URL", server.url)
    monkeypatch.setenv("ATLAS_PUBLIC_KEY", "nobody")
    monkeypatch.setenv("ATLAS_PRIVATE_KEY", "wrong-private-key-value")
    data = copy.deepcopy(VALID)
    data["integrations"][0]["organization_id"] = org
    assert run(capsys, "config", "apply", str(write(env, data)))[0] == 0
    code, out, err = run(capsys, "sync")
    assert code == 1
    assert "prod: sync failed:" in err and "401" in err and "Traceback" not in err
    assert "wrong-private-key-value" not in out + err

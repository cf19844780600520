"""The operator's command line: config apply/show, sync, db upgrade, keygen — exit codes, messages, no half-writes."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import time
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


# --- bounded input: the file, its values, the environment ---------------------------------------------------------

def nested(depth: int) -> str:
    """A file nested `depth` mappings deep, in block style."""
    return "".join(f"{'  ' * level}k{level}:\n" for level in range(depth)) + "  " * depth + "x: 1\n"


LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]\n" for i in range(8))


@pytest.mark.parametrize(("content", "says"), [
    (b"\xff\xfeintegrations: []\n", "not UTF-8"),
    ("integrations: []\n# caf\u00e9\n".encode("latin-1"), "not UTF-8"),
    (nested(60).encode(), "nests deeper than 50 levels"),
    (("{a: " * 5000 + "1" + "}" * 5000).encode(), "nest"),  # libyaml may stop it first: "maximum nesting depth"
    (("[" * 5000 + "]" * 5000).encode(), "nest"),
    (LAUGHS.encode(), "more than 200,000 values once its aliases are expanded"),
    (b"a: &a [1, *a]\n", "an alias refers to a value that contains it"),
    (("integrations:\n  - credential_rotation_days: " + "9" * 5000 + "\n").encode(), "too many digits"),
    (b"integrations: [", "not valid YAML"),
])
def test_a_file_that_cannot_be_read_safely_is_refused_in_one_sentence(
    env: Path, capsys: pytest.CaptureFixture[str], content: bytes, says: str
) -> None:
    path = env / "config.yml"
    path.write_bytes(content)
    code, _, err = run(capsys, "config", "apply", str(path))
    assert code == 2, err
    assert err.startswith(f"error: {path}: ") and says in err and err.count("\n") == 1, err
    assert "Traceback" not in err
    assert yaml.safe_load(run(capsys, "config", "show")[1]) == {"integrations": [], "access_flows": []}


def test_a_file_over_1_mb_is_refused_without_reading_it_all(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # given a file of 4 GB (sparse: it costs no disk), which would take minutes and gigabytes to parse
    path = env / "huge.yml"
    with path.open("wb") as file:
        file.write(b"integrations: []\n#")
        file.truncate(4 * 1024**3)
    started = time.monotonic()
    code, _, err = run(capsys, "config", "apply", str(path))
    assert code == 2 and "larger than 1 MB" in err and "Traceback" not in err
    assert time.monotonic() - started < 2


def test_a_file_of_almost_1_mb_applies_in_seconds(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = copy.deepcopy(VALID)
    names = [f"payments-service-{n:02d}" for n in range(12)]
    data["access_flows"] = [{**VALID["access_flows"][0], "name": f"flow-{i}",
                             "resources": {"types": ["project"], "names": list(names)}} for i in range(1900)]
    path = write(env, data)
    assert 0.5 * 1024**2 < path.stat().st_size < 1024**2
    started = time.monotonic()
    code, out, err = run(capsys, "config", "apply", str(path))
    assert code == 0, err
    assert out.count("created access flow") == 1900 and time.monotonic() - started < 20


def test_anchors_and_aliases_within_the_limits_are_fine(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flow = yaml.safe_dump(VALID["access_flows"][0], default_flow_style=True).strip()
    content = (yaml.safe_dump({"integrations": VALID["integrations"]})
               + f"access_flows:\n  - &base {flow}\n  - {{<<: *base, name: second}}\n")
    code, out, err = run(capsys, "config", "apply", str(write(env, content)))
    assert code == 0, err
    assert "created access flow second" in out


@pytest.mark.parametrize(("path", "value", "named"), [
    (("integrations", 0, "credential_rotation_days"), 10**20, "integrations[0].credential_rotation_days"),
    (("access_flows", 0, "max_duration"), "9999999999d", "access_flows[0].max_duration"),
    (("access_flows", 0, "max_duration"), "9" * 20, "access_flows[0].max_duration"),
    (("access_flows", 0, "pending"), {"expire_after": "9" * 20 + "m"}, "access_flows[0].pending.expire_after"),
    (("integrations", 0, "integration_owners"), ["@a"] * 1000, "integrations[0].integration_owners"),
])
def test_a_value_out_of_bounds_is_named_and_nothing_is_written(
    env: Path, capsys: pytest.CaptureFixture[str], path: tuple[Any, ...], value: Any, named: str
) -> None:
    data = copy.deepcopy(VALID)
    target: Any = data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    code, _, err = run(capsys, "config", "apply", str(write(env, data)))
    assert code == 2 and err.startswith(f"error: {named}: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    assert yaml.safe_load(run(capsys, "config", "show")[1]) == {"integrations": [], "access_flows": []}


def test_a_thousand_bad_flows_are_told_in_a_screenful(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = copy.deepcopy(VALID)
    data["access_flows"] = [{**VALID["access_flows"][0], "name": f"f{i}", "max_duration": "2y"} for i in range(1000)]
    code, _, err = run(capsys, "config", "apply", str(write(env, data)))
    assert code == 2 and err.count("\n") == 21 and err.splitlines()[-1] == "error: ...and 980 more"


BAD_SETTINGS = [
    ("SWEEP_INTERVAL_SECONDS", "abc", "SWEEP_INTERVAL_SECONDS must be a number of seconds greater than 0 and at "
                                      "most 86400"),
    ("LEASE_SECONDS", "-1", "LEASE_SECONDS must be a number of seconds from 1 to 3600"),
    ("ATLAS_MAX_CONCURRENCY", "100000", "ATLAS_MAX_CONCURRENCY must be a whole number from 1 to 64"),
    ("RECONCILE_INTERVAL_MINUTES", "nan", "RECONCILE_INTERVAL_MINUTES must be a number of minutes from 0 to 1440 "
                                          "(0 turns it off)"),
    ("LISTENER_THREADS", "1e9", "LISTENER_THREADS must be a whole number of threads from 1 to 512"),
    ("LOG_JSON", "sometimes", "LOG_JSON must be true or false"),
]


@pytest.mark.parametrize("command", [["serve"], ["sync"], ["config", "show"], ["db", "upgrade"], ["demo"],
                                     ["audit", "export"]], ids=" ".join)
@pytest.mark.parametrize(("variable", "value", "says"), BAD_SETTINGS, ids=[b[0] for b in BAD_SETTINGS])
def test_a_bad_setting_is_one_sentence_naming_the_variable_for_every_command(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, command: list[str],
    variable: str, value: str, says: str,
) -> None:
    monkeypatch.setenv(variable, value)
    code, out, err = run(capsys, *command)
    assert code == 2 and err == f"error: {says}\n" and out == ""


def test_several_bad_settings_are_each_named_and_no_value_is_echoed(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LEASE_SECONDS", "0")
    monkeypatch.setenv("SERVER_THREADS", "xoxb-secret-looking-value")
    code, _, err = run(capsys, "serve")
    assert code == 2 and err.count("\n") == 2 and "LEASE_SECONDS" in err and "SERVER_THREADS" in err
    assert "xoxb-secret-looking-value" not in err


def test_a_bad_setting_in_a_real_process_prints_no_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}", "SWEEP_INTERVAL_SECONDS": "abc"}
    done = subprocess.run([sys.executable, "-m", "bot.cli", "serve", "--port", "0"], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().endswith("SWEEP_INTERVAL_SECONDS must be a number of seconds greater than 0 and at "
                                        "most 86400")


@pytest.mark.parametrize("argv", [["serve", "--port", "99999999999999999999"], ["demo", "--duration-minutes",
                                                                                  "9" * 20], ["--log-level", "LOUD",
                                                                                              "keygen"]])
def test_out_of_range_arguments_are_refused_by_the_parser(capsys: pytest.CaptureFixture[str], argv: list[str]
                                                          ) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    err = capsys.readouterr().err
    assert exited.value.code == 2 and "Traceback" not in err and "error:" in err


@pytest.mark.parametrize("argv", [["db", "upgrade"], ["config", "show"], ["config", "apply", "{file}"],
                                  ["sync"], ["audit", "export"]])
def test_a_database_that_cannot_be_opened_is_one_sentence_without_sql(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    # given a DATABASE_URL naming a SQLite file in a folder that does not exist (a typo, a volume not mounted)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'missing-folder' / 'cli.db'}")
    monkeypatch.setenv("ATLAS_ACCESS_SECRET_KEY", Fernet.generate_key().decode())
    file = write(tmp_path, VALID)

    # when a command needs the database
    code, _, err = run(capsys, *[part.format(file=file) for part in argv])

    # then it says so in one sentence, with neither SQL nor a traceback, and fails
    assert code == 1, err
    assert err.count("\n") == 1 and err.startswith("error: the database failed"), err
    for word in ("Traceback", "SELECT", "INSERT", "CREATE", "sqlite:///", "[SQL"):
        assert word not in err

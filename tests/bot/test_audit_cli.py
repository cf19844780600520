"""`atlas-access audit export`: CSV or JSON on stdout or into a file, filtered, recorded, and never a secret."""

from __future__ import annotations

import copy
import csv
import io
import json
from pathlib import Path

import pytest

from access.audit_export import COLUMNS
from tests.access.test_config import VALID
from tests.bot.test_cli import env, run, write  # noqa: F401  (env is a fixture)

PRIVATE_KEY = "a-private-key-that-must-not-leak"


@pytest.fixture
def applied(env: Path, capsys: pytest.CaptureFixture[str]) -> Path:  # noqa: F811
    """Given a config applied twice with a literal private key (two audit events, both about secrets)."""
    data = copy.deepcopy(VALID)
    data["integrations"][0]["credentials"] = {"type": "api_key", "public_key": "pub", "private_key": PRIVATE_KEY}
    for _ in range(2):
        assert run(capsys, "config", "apply", str(write(env, data)))[0] == 0
    return env


def test_the_default_is_csv_of_the_last_30_days_on_stdout(applied: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "audit", "export")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert tuple(rows[0]) == COLUMNS
    assert [(r["actor"], r["action"]) for r in rows] == [("cli", "config_applied")] * 2
    assert json.loads(rows[1]["detail"]) == {"created": [],
                                             "updated": ["integration prod", "access flow prod-projects"]}
    assert "exported 2 audit events since" in err and "as CSV" in err
    assert PRIVATE_KEY not in out


def test_json_into_a_file_and_the_export_is_on_record(applied: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = applied / "audit.json"
    code, out, err = run(capsys, "audit", "export", "--format", "json", "--since", "all", "--output", str(target))
    assert code == 0 and out == "" and f"wrote 2 audit events from the start, as JSON to {target}" in err
    rows = json.loads(target.read_text(encoding="utf-8"))
    assert [tuple(r) for r in rows] == [COLUMNS, COLUMNS] and rows[0]["detail"]["created"]
    # the export itself was audited, and shows in the next one
    _, out, _ = run(capsys, "audit", "export", "--format", "json")
    last = json.loads(out)[-1]
    assert (last["actor"], last["action"], last["detail"]) == ("cli", "audit_exported",
                                                               {"format": "json", "rows": 2, "since": "all"})


def test_filters_by_time_and_integration(applied: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, err = run(capsys, "audit", "export", "--since", "2999-01-01")
    assert out == ",".join(COLUMNS) + "\n" and "exported 0 audit events" in err
    # config_applied concerns no single integration
    _, out, _ = run(capsys, "audit", "export", "--integration", "prod")
    assert [r["action"] for r in csv.DictReader(io.StringIO(out))] == []


@pytest.mark.parametrize(("argv", "says"), [
    (["--since", "last tuesday"], "error: since: 'last tuesday' is not a time"),
    (["--output", "/nonexistent/dir/audit.csv"], "error: --output: cannot write"),
])
def test_mistakes_exit_2_with_one_sentence(applied: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
                                           says: str) -> None:
    code, _, err = run(capsys, "audit", "export", *argv)
    assert code == 2 and says in err and "Traceback" not in err


def test_an_unknown_format_is_a_usage_error(applied: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        run(capsys, "audit", "export", "--format", "xml")
    assert raised.value.code == 2 and "invalid choice: 'xml'" in capsys.readouterr().err

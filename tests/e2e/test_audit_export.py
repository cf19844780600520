"""Stories: an admin asks `/atlas-admin audit` and gets the audit trail as a file in a DM; nobody else does."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from access.audit_export import COLUMNS
from access.model import GrantStatus
from tests.e2e.harness import ANN, BOB, DAN, EVE, READ, Harness, wait


@pytest.fixture
def audit_world(tmp_path: Path) -> Iterator[Harness]:
    """The e2e world with @atlas-admins (dan) as admins: the app as `serve` builds it, /atlas-admin included."""
    world = Harness(tmp_path, atlas_access_admins="@atlas-admins")
    try:
        yield world
    finally:
        world.close()


def audit_command(world: Harness, user: str, text: str) -> None:
    assert world.slack.command(user, command="/atlas-admin", text=text).status_code == 200


def replies(world: Harness) -> list[str]:
    return [str(r.body.get("text", "")) for r in world.sim.responses]


def a_granted_request(world: Harness) -> int:
    request = world.request(ANN, "payments", [READ], duration="1h")
    world.click(BOB, "approve", request)
    world.wait_grant(request, GrantStatus.ACTIVE)
    return request.id or 0


def test_an_admin_gets_the_audit_trail_as_a_csv_file_in_a_dm(audit_world: Harness) -> None:
    world = audit_world
    request_id = a_granted_request(world)
    # when dan (an admin) asks for the audit export
    audit_command(world, DAN, "audit")
    # then a CSV file lands in his DM with the bot, through Slack's current upload API
    [upload] = wait(lambda: world.sim.uploaded_files)
    assert upload.channel_id == world.sim.im_channel(DAN) and upload.filename.endswith(".csv")
    assert [c.method for c in world.sim.calls if c.method.startswith("files.")] == [
        "files.getUploadURLExternal", "files.completeUploadExternal"]
    assert upload.initial_comment is not None and "as CSV" in upload.initial_comment
    rows = list(csv.DictReader(io.StringIO(upload.content.decode())))
    assert tuple(rows[0]) == COLUMNS
    story = [(r["actor"], r["action"]) for r in rows if r["request_id"] == str(request_id)]
    assert story == [(ANN, "requested"), (BOB, "approved"), ("system", "granted")]
    # and no secret of the integration is in it
    assert world.atlas.private_key not in upload.content.decode()
    # and dan is told, and the export itself is on record
    wait(lambda: any("in a DM" in t for t in replies(world)))
    [exported] = world.audit("audit_exported")
    assert exported.actor == DAN and exported.detail["rows"] == len(rows) and exported.detail["format"] == "csv"


def test_options_choose_the_period_the_integration_and_json(audit_world: Harness) -> None:
    world = audit_world
    a_granted_request(world)
    audit_command(world, DAN, "audit --since all --integration prod --format json")
    [upload] = wait(lambda: world.sim.uploaded_files)
    rows = json.loads(upload.content)
    assert upload.filename.endswith(".json") and rows and all(r["integration"] == "prod" for r in rows)
    assert {"requested", "approved", "granted", "synced"} <= {r["action"] for r in rows}
    assert isinstance(rows[0]["detail"], dict)


def test_only_admins_get_it(audit_world: Harness) -> None:
    world = audit_world
    audit_command(world, EVE, "audit")
    wait(lambda: replies(world))
    assert "admin" in replies(world)[0].lower()
    assert world.sim.uploaded_files == []
    assert [e.detail["action"] for e in world.audit("admin_refused")] == ["/atlas-admin audit"]


def test_a_wrong_option_gets_the_usage(audit_world: Harness) -> None:
    world = audit_world
    audit_command(world, DAN, "audit --since yesterday")
    wait(lambda: replies(world))
    assert "yesterday" in replies(world)[0] and world.sim.uploaded_files == []
    audit_command(world, DAN, "audit --colour blue")
    wait(lambda: len(replies(world)) == 2)
    assert "Usage: `/atlas-admin audit" in replies(world)[1]


def test_the_rest_of_atlas_admin_still_opens_the_admin_home(audit_world: Harness) -> None:
    world = audit_world
    before = len(world.sim.calls_to("views.open"))
    audit_command(world, DAN, "")
    wait(lambda: len(world.sim.calls_to("views.open")) > before)
    assert world.sim.uploaded_files == []

"""Stories: reconciliation compares Atlas with the grants; it redoes revocations Atlas lost, closes grants of
people who left the organization, and reports roles nobody granted, removing them too where the integration
says so (`remove_unmanaged_roles`, set in the config file or the admin modal)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from access.model import GrantStatus, ResourceKind, ResourceRef
from bot.cli import main
from tests.e2e.admin_harness import AdminHarness, admin_world
from tests.e2e.harness import ANN, BOB, CHANNEL, DAN, DATA_READ, EMAILS, EVE, READ, Harness, blocks_text, wait


def _project(world: Harness, name: str) -> ResourceRef:
    return ResourceRef(kind=ResourceKind.PROJECT, organization_id=world.atlas.org_id,
                       atlas_id=world.atlas.projects[name], name=name)


def _granted(world: Harness, hours: int = 1) -> int:
    request = world.request(ANN, "payments", [READ], duration=f"{hours}h")
    world.click(BOB, "approve", request)
    return world.wait_grant(request, GrantStatus.ACTIVE).id or 0


def _alerts(world: Harness) -> list[str]:
    return [m["text"] for m in world.sim.messages(CHANNEL) if "Reconciliation" in m.get("text", "")]


def test_a_revocation_atlas_lost_is_redone(world: Harness) -> None:
    # given ann's grant was revoked, and then READ came back in Atlas (a lost write, a restore, a hand)
    grant_id = _granted(world)
    world.expire(timedelta(hours=1))
    world.runtime.gateways("prod").grant(resource=_project(world, "payments"), username=EMAILS[ANN], roles=[READ])
    assert world.project_roles("payments", ANN) == {DATA_READ, READ}

    # when reconciliation runs
    assert world.runtime.reconcile is not None
    report = world.runtime.reconcile.run("prod")

    # then READ is taken away again, her own DATA_READ stays, and the audit trail says so
    assert report.redone == (grant_id,)
    assert world.project_roles("payments", ANN) == {DATA_READ}
    redone = world.audit("revocation_redone")
    assert [(e.grant_id, e.detail["roles"]) for e in redone] == [(grant_id, [READ])]

    # and a second run finds nothing more to do
    assert world.runtime.reconcile.run("prod").redone == ()


def test_a_grant_of_someone_who_left_the_organization_is_closed(world: Harness) -> None:
    # given ann holds an active grant, and then leaves the Atlas organization
    grant_id = _granted(world, hours=4)
    org = ResourceRef(kind=ResourceKind.ORGANIZATION, organization_id=world.atlas.org_id,
                      atlas_id=world.atlas.org_id, name="Acme")
    world.runtime.gateways("prod").revoke(resource=org, username=EMAILS[ANN], roles=[], remove_user=True)

    # when reconciliation runs
    assert world.runtime.reconcile is not None
    report = world.runtime.reconcile.run("prod")

    # then the grant is closed now, not at its expiry, and the audit trail says why
    assert report.closed == (grant_id,)
    with world.runtime.store.unit_of_work() as uow:
        grant = uow.grants.get(grant_id)
    assert grant is not None and grant.status is GrantStatus.REVOKED and grant.revoked_at == world.clock.now()
    assert [e.grant_id for e in world.audit("grant_closed_user_left")] == [grant_id]
    assert world.expire(timedelta(hours=4)) == 0  # nothing left for the sweep


def test_a_role_added_outside_the_bot_is_reported_once_and_kept(world: Harness) -> None:
    # given someone gave eve READ on search in Atlas directly, and the inventory was synced
    world.runtime.gateways("prod").grant(resource=_project(world, "search"), username=EMAILS[EVE], roles=[READ])
    world.runtime.sync.run("prod")

    # when reconciliation runs twice
    assert world.runtime.reconcile is not None
    first = world.runtime.reconcile.run("prod")
    second = world.runtime.reconcile.run("prod")

    # then the owners hear of it once (ann's DATA_READ from before the bot, no grant behind it, too), and it stays
    found = {(d.username, d.role, d.resource.name) for d in first.unmanaged}
    assert (EMAILS[EVE], READ, "search") in found and (EMAILS[ANN], DATA_READ, "payments") in found
    assert second.unmanaged == () and first.removed == ()
    alerts = _alerts(world)
    assert len(alerts) == 1 and "eve@example.com: `GROUP_READ_ONLY` on project search" in alerts[0]
    assert "<!subteam^S2>" in alerts[0] or "@atlas-admins" in alerts[0] or "<@U4>" in alerts[0]
    assert world.project_roles("search", EVE) == {READ}
    audited = [e.detail for e in world.audit("unmanaged_role") if e.detail["username"] == EMAILS[EVE]]
    assert audited == [{"username": EMAILS[EVE], "role": READ, "resource": "search",
                        "resource_id": world.atlas.projects["search"], "removed": False}]
    assert [e.detail["unmanaged"] for e in world.audit("reconciled")] == [len(first.unmanaged), 0]


def test_a_granted_role_is_not_unmanaged(world: Harness) -> None:
    # given ann's READ on payments comes from an active grant (and DATA_READ is her baseline in it)
    _granted(world)
    world.runtime.sync.run("prod")

    # when reconciliation runs, then neither is reported
    assert world.runtime.reconcile is not None
    report = world.runtime.reconcile.run("prod")
    assert not [d for d in report.unmanaged if d.username == EMAILS[ANN]]


def _set_in_the_file(world: AdminHarness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                     capsys: pytest.CaptureFixture[str], remove: bool) -> None:
    """The operator's way: `config show`, set `remove_unmanaged_roles` in the file, `config apply` it."""
    key = world.settings.atlas_access_secret_key
    assert key is not None
    monkeypatch.setenv("DATABASE_URL", world.database_url)
    monkeypatch.setenv("ATLAS_ACCESS_SECRET_KEY", key.get_secret_value())
    assert main(["config", "show"]) == 0
    document = yaml.safe_load(capsys.readouterr().out)
    prod = document["integrations"][0]
    assert prod["remove_unmanaged_roles"] is False  # what `config show` prints until someone sets it
    prod["remove_unmanaged_roles"] = remove
    prod["credentials"] = {"type": "api_key", "public_key": world.atlas.public_key,  # shown redacted
                           "private_key": world.atlas.private_key}
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    assert main(["config", "apply", str(path)]) == 0, capsys.readouterr().err


def _ticked_in_the_modal(world: AdminHarness, remove: bool) -> None:
    """The admin's way: /atlas-admin, Edit on prod, tick (or untick) the box, Save."""
    home = world.open_admin()
    before = world.push_count()
    assert world.slack.block_action(DAN, "admin_edit_integration", "prod", view=home).status_code == 200
    modal = world.pushed(DAN, "admin_integration", before)
    response = world.slack.submit(DAN, modal, {"admin_remove_unmanaged": ["on"] if remove else []})
    assert response.status_code == 200 and not response.content, response.text
    # the save starts a first sync; let it finish before the story's own sync
    wait(lambda: any("First sync of *prod*" in blocks_text(m) and "synced" in blocks_text(m)
                     for m in world.sim.dms(DAN)))


@pytest.mark.parametrize(("how", "remove", "deprecated_env", "removed"), [
    ("file", True, "", True),  # remove_unmanaged_roles: true through `config apply`
    ("modal", True, "", True),  # the box ticked in the /atlas-admin integration modal
    ("file", False, "", False),  # said false explicitly: reported only
    ("modal", False, "", False),
    ("file", False, "prod", True),  # the deprecated RECONCILE_REMOVE_UNMANAGED still removes for the names it lists
    ("file", False, "staging, dev", False),  # ...and only for those
])
def test_unmanaged_roles_are_removed_when_the_integration_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture, how: str, remove: bool, deprecated_env: str, removed: bool,
) -> None:
    # given prod configured (by an operator's file or an admin's modal) to remove unmanaged roles, or not
    with admin_world(tmp_path, reconcile_remove_unmanaged=deprecated_env) as world:
        # (the old variable, while set, says at start that it is deprecated and what it still does)
        assert ("RECONCILE_REMOVE_UNMANAGED is deprecated" in caplog.text) is bool(deprecated_env)
        if how == "file":
            _set_in_the_file(world, tmp_path, monkeypatch, capsys, remove)
        else:
            _ticked_in_the_modal(world, remove)
        with world.runtime.store.unit_of_work() as uow:
            spec = uow.integrations.get("prod")
        assert spec is not None and spec.remove_unmanaged_roles is remove
        # and eve's READ on search, given in Atlas outside the bot, is in the inventory
        world.runtime.gateways("prod").grant(resource=_project(world, "search"), username=EMAILS[EVE], roles=[READ])
        world.runtime.sync.run("prod")

        # when reconciliation runs
        assert world.runtime.reconcile is not None
        report = world.runtime.reconcile.run("prod")

        # then it is reported either way, and removed only if the integration (or the old variable) says so
        assert (EMAILS[EVE], READ) in {(d.username, d.role) for d in report.unmanaged}
        assert ((EMAILS[EVE], READ) in {(d.username, d.role) for d in report.removed}) is removed
        assert world.project_roles("search", EVE) == (set() if removed else {READ})
        alert = next(a for a in _alerts(world) if "eve@example.com" in a)
        assert ("eve@example.com: `GROUP_READ_ONLY` on project search (removed)" in alert) is removed
        audited = [e.detail["removed"] for e in world.audit("unmanaged_role") if e.detail["username"] == EMAILS[EVE]]
        assert audited == [removed]


def test_the_timer_job_syncs_then_reconciles_every_integration(world: Harness) -> None:
    from bot.scheduler import Timers

    # given eve's READ on search from outside the bot, not yet in the inventory
    world.runtime.gateways("prod").grant(resource=_project(world, "search"), username=EMAILS[EVE], roles=[READ])

    # when the scheduled job runs (the timers call it every RECONCILE_INTERVAL_MINUTES)
    Timers(world.runtime).reconcile_all()

    # then it synced first, so the new holding is reported, and the pass is in the audit trail
    assert any(e.detail["username"] == EMAILS[EVE] for e in world.audit("unmanaged_role"))
    assert len(world.audit("reconciled")) == 1

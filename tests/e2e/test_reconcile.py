"""Stories: reconciliation compares Atlas with the grants; it redoes revocations Atlas lost, closes grants of
people who left the organization, and reports (or, when configured, removes) roles nobody granted."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from access.model import GrantStatus, ResourceKind, ResourceRef
from tests.e2e.harness import ANN, BOB, CHANNEL, DATA_READ, EMAILS, EVE, READ, Harness


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


def test_unmanaged_roles_are_removed_when_the_integration_says_so(tmp_path: Path) -> None:
    # given an integration configured to remove unmanaged roles, and eve's READ on search from outside
    world = Harness(tmp_path, reconcile_remove_unmanaged="prod")
    try:
        world.runtime.gateways("prod").grant(resource=_project(world, "search"), username=EMAILS[EVE], roles=[READ])
        world.runtime.sync.run("prod")

        # when reconciliation runs
        assert world.runtime.reconcile is not None
        report = world.runtime.reconcile.run("prod")

        # then the role is gone, the owners are told it was removed, and the audit row says so
        assert (EMAILS[EVE], READ) in {(d.username, d.role) for d in report.removed}
        assert world.sb.group_user(world.atlas.projects["search"], EMAILS[EVE]) is None \
            or world.project_roles("search", EVE) == set()
        assert "(removed)" in _alerts(world)[0]
        assert any(e.detail["removed"] for e in world.audit("unmanaged_role") if e.detail["username"] == EMAILS[EVE])
    finally:
        world.close()


def test_the_timer_job_syncs_then_reconciles_every_integration(world: Harness) -> None:
    from bot.scheduler import Timers

    # given eve's READ on search from outside the bot, not yet in the inventory
    world.runtime.gateways("prod").grant(resource=_project(world, "search"), username=EMAILS[EVE], roles=[READ])

    # when the scheduled job runs (the timers call it every RECONCILE_INTERVAL_MINUTES)
    Timers(world.runtime).reconcile_all()

    # then it synced first, so the new holding is reported, and the pass is in the audit trail
    assert any(e.detail["username"] == EMAILS[EVE] for e in world.audit("unmanaged_role"))
    assert len(world.audit("reconciled")) == 1

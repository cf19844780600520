"""Stories: reconciliation compares Atlas with the grants; it redoes revocations Atlas lost, closes grants of
people who left the organization, and reports roles nobody granted, removing them too where the integration
says so (`remove_unmanaged_roles`, set in the config file or the admin modal)."""

from __future__ import annotations

from access.model import ResourceKind, ResourceRef
from tests.e2e.harness import ANN, CHANNEL, DATA_READ, EMAILS, EVE, READ, Harness


def _project(world: Harness, name: str) -> ResourceRef:
    return ResourceRef(kind=ResourceKind.PROJECT, organization_id=world.atlas.org_id,
                       atlas_id=world.atlas.projects[name], name=name)


def _alerts(world: Harness) -> list[str]:
    return [m["text"] for m in world.sim.messages(CHANNEL) if "Reconciliation" in m.get("text", "")]


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


def test_the_timer_job_syncs_then_reconciles_every_integration(world: Harness) -> None:
    from bot.scheduler import Timers

    # given eve's READ on search from outside the bot, not yet in the inventory
    world.runtime.gateways("prod").grant(resource=_project(world, "search"), username=EMAILS[EVE], roles=[READ])

    # when the scheduled job runs (the timers call it every RECONCILE_INTERVAL_MINUTES)
    Timers(world.runtime).reconcile_all()

    # then it synced first, so the new holding is reported, and the pass is in the audit trail
    assert any(e.detail["username"] == EMAILS[EVE] for e in world.audit("unmanaged_role"))
    assert len(world.audit("reconciled")) == 1

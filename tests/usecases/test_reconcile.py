"""Reconciliation: Atlas compared with the grants; a revocation Atlas did not keep is redone, a grant whose user
left is closed, a flow role held with no grant behind it is reported once (and removed when the integration says).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from access.model import GrantStatus
from access.policy import Requester
from access.reconcile import ReconcileOptions, ReconcileReport
from tests.fakes.faults import KINDS
from tests.usecases.world import ANN, CLUSTER, CLUSTER_FLOW, DATA_READ, ORG_ID, PAYMENTS, READ, SEARCH, World, flow

G = GrantStatus
H = timedelta(hours=1)
BOB_EMAIL = "bob@example.com"


def run(world: World, *, sync: bool = True) -> ReconcileReport:
    if sync:
        world.sync.run("prod")  # the job reads the inventory as a sync left it
    return world.reconciler.run("prod")


def test_a_clean_world_has_nothing_to_reconcile(world: World) -> None:
    world.approved()
    report = world.reconciler.run("prod")
    assert (report.redone, report.closed, report.unmanaged, report.errors) == ((), (), (), ())
    assert world.audit("reconciled")[0].detail == {"redone": 0, "closed": 0, "unmanaged": 0, "removed": 0,
                                                   "errors": 0}
    assert world.notifier.alerts() == []


def test_a_revocation_atlas_did_not_keep_is_redone_keeping_the_baseline(world: World) -> None:
    # given a grant revoked, whose role someone put back in Atlas afterwards
    world.atlas.set_project_roles(PAYMENTS, ANN.email, [READ])
    grant = world.approved(roles=(READ, DATA_READ))
    world.expire(H)
    world.atlas.set_project_roles(PAYMENTS, ANN.email, [READ, DATA_READ])
    # when reconciliation runs
    report = world.reconciler.run("prod")
    # then the role is taken away again, and what she had before stays
    assert report.redone == (grant.id,) and world.roles() == {READ}
    assert world.audit("revocation_redone")[0].detail["roles"] == [DATA_READ]


def test_revocations_older_than_the_window_are_not_checked_again() -> None:
    world = World(reconcile=ReconcileOptions(recheck_revoked_for=timedelta(days=1)))
    world.approved()
    world.expire(H)
    world.clock.advance(days=2)
    world.atlas.set_project_roles(PAYMENTS, ANN.email, [READ])
    assert world.reconciler.run("prod").redone == () and world.roles() == {READ}


def test_a_role_another_live_grant_needs_is_not_redone(world: World) -> None:
    world.approved(roles=(READ,), duration=H)
    world.approved(roles=(READ,), duration=4 * H)
    world.expire(H)
    assert world.reconciler.run("prod").redone == () and world.roles() == {READ}


def test_a_grant_whose_user_left_the_organization_is_closed(world: World) -> None:
    grant = world.approved()
    world.atlas.remove_user(ORG_ID, ANN.email)
    report = world.reconciler.run("prod")
    closed = world.grant(grant.id or 0)
    assert report.closed == (grant.id,) and closed.status is G.REVOKED and closed.revoked_at == world.clock.now()
    assert world.audit("grant_closed_user_left")[0].detail["username"] == ANN.email
    assert world.expire(H) == 0  # nothing left for the worker


def test_a_flow_role_held_without_a_grant_is_reported_once(world: World) -> None:
    world.atlas.add_user(ORG_ID, BOB_EMAIL, project_roles={PAYMENTS: [DATA_READ]})
    first = run(world)
    assert [(d.username, d.role, d.resource.atlas_id) for d in first.unmanaged] == [
        (BOB_EMAIL, DATA_READ, PAYMENTS)]
    assert first.removed == ()
    [alert] = world.notifier.alerts()
    assert BOB_EMAIL in alert.text and "payments" in alert.text
    assert world.atlas.project_roles(PAYMENTS, BOB_EMAIL) == {DATA_READ}
    second = run(world)
    assert second.unmanaged == () and len(world.notifier.alerts()) == 1


@pytest.mark.parametrize("setting", ["the integration", "the deprecated option"])
def test_unmanaged_roles_are_removed_when_the_integration_says(setting: str) -> None:
    options = ReconcileOptions(remove_unmanaged=frozenset({"prod"})) if setting != "the integration" else None
    world = World(reconcile=options)
    if setting == "the integration":
        world.set_integration(remove_unmanaged_roles=True)
    world.atlas.add_user(ORG_ID, BOB_EMAIL, project_roles={PAYMENTS: [READ, "GROUP_OWNER"]})
    report = run(world)
    assert [d.role for d in report.removed] == [READ]
    assert world.atlas.project_roles(PAYMENTS, BOB_EMAIL) == {"GROUP_OWNER"}  # no flow hands it out: not ours
    assert world.audit("unmanaged_role")[0].detail["removed"] is True


@pytest.mark.parametrize(("case", "reported"), [
    ("a live grant gives it", False),
    ("it was her baseline before a grant", False),
    ("no flow hands the role out", False),
    ("a revoked grant's role put back by hand", True),
])
def test_what_counts_as_unmanaged(world: World, case: str, reported: bool) -> None:
    if case == "a live grant gives it":
        world.approved()
    elif case == "it was her baseline before a grant":
        world.atlas.set_project_roles(PAYMENTS, ANN.email, [READ])
        world.approved(roles=(READ, DATA_READ))
        world.expire(H)
    elif case == "no flow hands the role out":
        world.atlas.set_project_roles(SEARCH, ANN.email, ["GROUP_OWNER"])
    else:
        world.approved()
        world.expire(H)
        world.clock.advance(days=8)  # past the re-check window: only the unmanaged-role check sees it
        world.atlas.set_project_roles(PAYMENTS, ANN.email, [READ])
    report = run(world)
    assert bool(report.unmanaged) is reported


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_one_failing_grant_does_not_stop_the_others(world: World, kind: str) -> None:
    first = world.approved(roles=(READ,))
    world.expire(H)
    world.atlas.set_project_roles(PAYMENTS, ANN.email, [READ])
    world.atlas.add_user(ORG_ID, BOB_EMAIL)
    world.directory.add_user("U0BOB2", BOB_EMAIL)
    second_request = world.submit(world_person("U0BOB2"), resource=SEARCH, roles=(READ,))
    world.service.approve(request_id=second_request.id or 0, user_id="U0DAN")
    world.expire(H)
    world.atlas.set_project_roles(SEARCH, BOB_EMAIL, [READ])
    world.gateway.faults.fail_next(kind, method="user_access")
    report = world.reconciler.run("prod")
    assert len(report.errors) == 1 and str(first.id) in report.errors[0]
    assert report.redone == (world.grant_of(second_request.id or 0).id,)
    assert world.atlas.project_roles(SEARCH, BOB_EMAIL) == set() and world.roles() == {READ}


def test_temporary_database_users_are_left_to_atlas() -> None:
    world = World(flows=[flow(**CLUSTER_FLOW)])
    world.approved(resource=CLUSTER, roles=("read@orders",))
    world.expire(H)
    assert world.reconciler.run("prod").redone == ()


def world_person(user_id: str) -> Requester:
    return Requester(user_id=user_id, email=BOB_EMAIL)

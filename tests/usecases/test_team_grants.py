"""Atlas teams as requestable resources: discovered with the project roles they hold, owned by the owner groups of
all those projects, granted by adding the person to the team (inviting a stranger to the organization with it),
and revoked by taking them out again, unless they were in the team before (their baseline)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from access.errors import RequestRefused
from access.model import TEAM_MEMBER, GrantStatus, ResourceKind
from tests.usecases.world import ANN, BOB, CYD, DAN, ORG_ID, PAYMENTS, SEARCH, World, flow, integration, person

G = GrantStatus
H = timedelta(hours=1)
TEAM_FLOW = {"name": "prod-teams", "resources": {"types": ["team"], "names": ["db*"]}, "roles": [TEAM_MEMBER],
             "max_duration": "8h"}


@pytest.fixture
def teams() -> World:
    world = World(flows=[flow(**TEAM_FLOW)],
                  spec=integration(discovery=["organizations", "projects", "teams"]))
    world.atlas.set_project_roles(SEARCH, "dan@example.com", [])
    world.team = world.atlas.add_team(ORG_ID, "dbas", projects={PAYMENTS: ["GROUP_OWNER"], SEARCH: ["GROUP_OWNER"]})
    world.atlas.add_team(ORG_ID, "viewers", projects={PAYMENTS: ["GROUP_READ_ONLY"]})
    world.directory.add_group("S0SEARCH", "search-oncall", [DAN])
    world.atlas.projects[SEARCH].tags["owner"] = "search-oncall"
    world.sync.run("prod")
    return world


def test_teams_are_synced_with_what_they_give_and_counted(teams: World) -> None:
    with teams.store.unit_of_work() as uow:
        found = uow.inventory.resources(integration="prod", kind=ResourceKind.TEAM)
        counts = uow.inventory.counts(integration="prod")
    assert [t.name for t in found] == ["dbas", "viewers"] and counts["teams"] == 2
    dbas = found[0]
    assert [(p.name, p.roles) for p in dbas.team_projects] == [("payments", ("GROUP_OWNER",)),
                                                               ("search", ("GROUP_OWNER",))]
    assert teams.audit("synced")[-1].detail["counts"]["teams"] == 2  # type: ignore[index]


def test_a_team_request_is_decided_by_the_owners_of_all_its_projects(teams: World) -> None:
    request = teams.submit(resource=teams.team, roles=(TEAM_MEMBER,))
    assert set(request.approvers) == {BOB, CYD, DAN}  # payments-oncall and search-oncall
    with pytest.raises(RequestRefused):  # only teams the flow names
        teams.submit(resource=next(t for t, v in teams.atlas.teams.items() if v.name == "viewers"),
                     roles=(TEAM_MEMBER,))


def test_a_team_grant_adds_ann_to_the_team_and_its_end_takes_her_out(teams: World) -> None:
    grant = teams.approved(resource=teams.team, roles=(TEAM_MEMBER,), duration=2 * H, by=DAN)
    assert grant.status is G.ACTIVE and grant.added_roles == (TEAM_MEMBER,) and grant.baseline_roles == ()
    assert teams.atlas.in_team(teams.team, ANN.email)
    teams.expire(2 * H)
    assert teams.grant(grant.id or 0).status is G.REVOKED and not teams.atlas.in_team(teams.team, ANN.email)
    assert teams.atlas.status(ORG_ID, ANN.email) is not None  # she stays in the organization


def test_someone_already_in_the_team_stays_in_it(teams: World) -> None:
    member = teams.atlas.member(ORG_ID, ANN.email)
    assert member is not None
    member.teams.add(teams.team)
    grant = teams.approved(resource=teams.team, roles=(TEAM_MEMBER,), duration=H, by=DAN)
    assert grant.baseline_roles == (TEAM_MEMBER,) and grant.added_roles == ()
    teams.expire(H)
    assert teams.grant(grant.id or 0).status is G.REVOKED and teams.atlas.in_team(teams.team, ANN.email)


def test_a_stranger_is_invited_with_the_team_and_the_invitation_withdrawn(teams: World) -> None:
    teams.atlas.remove_user(ORG_ID, ANN.email)
    grant = teams.approved(resource=teams.team, roles=(TEAM_MEMBER,), duration=H, by=DAN)
    assert grant.status is G.INVITED and teams.atlas.in_team(teams.team, ANN.email)
    teams.selfservice.done(grant_id=grant.id or 0, user_id=ANN.user_id)
    assert teams.grant(grant.id or 0).status is G.REVOKED and teams.atlas.status(ORG_ID, ANN.email) is None


def test_a_team_deleted_in_atlas_while_a_grant_is_live_ends_cleanly(teams: World) -> None:
    grant = teams.approved(resource=teams.team, roles=(TEAM_MEMBER,), duration=H, by=DAN)
    teams.atlas.delete_team(teams.team)
    teams.expire(H)
    done = teams.grant(grant.id or 0)
    assert done.status is G.REVOKED
    assert teams.audit("revoked")[-1].detail["removed"] == [] and "revoke_failed" not in teams.actions()


def test_reconciliation_takes_ann_out_again_when_someone_put_her_back(teams: World) -> None:
    grant = teams.approved(resource=teams.team, roles=(TEAM_MEMBER,), duration=H, by=DAN)
    teams.expire(H)
    member = teams.atlas.member(ORG_ID, ANN.email)
    assert member is not None
    member.teams.add(teams.team)  # put back by hand in Atlas
    report = teams.reconciler.run("prod")
    assert report.redone == (grant.id,) and not teams.atlas.in_team(teams.team, ANN.email)


def test_without_owner_tags_the_integration_owners_decide(teams: World) -> None:
    for group_id in (PAYMENTS, SEARCH):
        teams.atlas.projects[group_id].tags.pop("owner", None)
    teams.sync.run("prod")
    request = teams.submit(resource=teams.team, roles=(TEAM_MEMBER,))
    assert request.approvers and not {BOB, CYD} & set(request.approvers)  # @atlas-admins, not payments-oncall
    assert request.approver_group is None


# --- reconciliation: team memberships nobody granted ----------------------------------------------------------------


def put_in_team(world: World, email: str, team_id: str) -> None:
    member = world.atlas.member(ORG_ID, email)
    assert member is not None
    member.teams.add(team_id)


def test_reconciliation_reports_a_team_membership_nobody_granted_once(teams: World) -> None:
    put_in_team(teams, ANN.email, teams.team)  # added by hand in Atlas, no request behind it
    viewers = next(t for t, v in teams.atlas.teams.items() if v.name == "viewers")
    put_in_team(teams, "dan@example.com", viewers)  # a team no flow offers: none of the bot's business
    teams.sync.run("prod")
    report = teams.reconciler.run("prod")
    assert [(d.username, d.role, d.resource.kind, d.resource.name) for d in report.unmanaged] == [
        (ANN.email, TEAM_MEMBER, ResourceKind.TEAM, "dbas")]
    [event] = teams.audit("unmanaged_role")
    assert event.detail["resource_id"] == teams.team and event.detail["removed"] is False
    assert teams.atlas.in_team(teams.team, ANN.email)  # reported, not removed: the integration does not say so
    assert any(f"{ANN.email}: member of team dbas" in a.text for a in teams.notifier.alerts())
    teams.sync.run("prod")
    assert teams.reconciler.run("prod").unmanaged == ()  # once


def test_members_by_grant_or_from_before_are_not_reported(teams: World) -> None:
    put_in_team(teams, "dan@example.com", teams.team)
    baseline = teams.approved(who=person(DAN), resource=teams.team, roles=(TEAM_MEMBER,), duration=H, by=BOB)
    assert baseline.baseline_roles == (TEAM_MEMBER,)
    teams.approved(resource=teams.team, roles=(TEAM_MEMBER,), duration=2 * H, by=DAN)  # ann, live
    teams.sync.run("prod")
    assert teams.reconciler.run("prod").unmanaged == ()
    teams.expire(H)  # dan's grant ends; he stays in the team, his baseline
    teams.sync.run("prod")
    assert teams.reconciler.run("prod").unmanaged == ()


def test_when_the_integration_says_so_the_membership_is_removed(teams: World) -> None:
    teams.set_integration(discovery=["organizations", "projects", "teams"], remove_unmanaged_roles=True)
    put_in_team(teams, ANN.email, teams.team)
    teams.sync.run("prod")
    report = teams.reconciler.run("prod")
    assert [d.resource.atlas_id for d in report.removed] == [teams.team]
    assert not teams.atlas.in_team(teams.team, ANN.email) and teams.atlas.status(ORG_ID, ANN.email) is not None

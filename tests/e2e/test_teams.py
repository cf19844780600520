"""Story: an Atlas team as a requestable resource. The modal offers "team dbas: Project Owner on payments,
vault"; ann asks to join it, bob (a payments owner) approves, the bot adds her to the team in Atlas and takes her
out at the end; cat, who was in the team before she asked, stays in it when her grant ends."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from access.config import AccessFlowSpec
from access.model import TEAM_MEMBER, GrantStatus, ResourceKind, ResourceRef
from bot.scheduler import Timers
from bot.sync_report import describe_changes
from tests.e2e.harness import ANN, BOB, CAT, CHANNEL, EMAILS, EVE, Harness, integration_spec


@pytest.fixture
def team_world(world: Harness) -> Iterator[Harness]:
    """The e2e world plus the team dbas (Project Owner on payments and vault; cat in it) and a flow for teams."""
    projects = world.atlas.projects
    team = world.sb.add_team(org_id=world.atlas.org_id, name="dbas", usernames=[EMAILS[CAT]])
    for project in ("payments", "vault"):
        world.sb.assign_team(group_id=projects[project], team_id=team, roles=["GROUP_OWNER"])
    spec = integration_spec(world.atlas).model_copy(update={"discovery": ["organizations", "projects", "teams"]})
    with world.runtime.store.unit_of_work() as uow:
        uow.integrations.upsert(spec, keep_secrets=False)
        uow.flows.upsert(AccessFlowSpec.model_validate({
            "name": "prod-teams", "integration": "prod", "resources": {"types": ["team"], "names": ["dbas"]},
            "max_duration": "8h"}))
    report = world.runtime.sync.run("prod")
    assert describe_changes("prod", report.changes).startswith("prod: 1 organizations, 6 projects, 0 clusters, "
                                                               "5 users, 1 teams")
    world.team = team  # type: ignore[attr-defined]
    yield world


def in_team(world: Harness, user: str) -> bool:
    found = world.sb.org_user(world.atlas.org_id, EMAILS[user])
    return found is not None and world.team in found.get("teamIds", [])  # type: ignore[attr-defined]


def test_a_team_is_granted_and_revoked_and_a_member_from_before_stays(team_world: Harness) -> None:
    world = team_world
    # given the team is offered with what it gives, and ann is not in it
    view = world.open_modal(ANN)
    labels = [o["text"]["text"] for o in world.options(ANN, "dbas", view)]
    assert labels == ["team dbas: Project Owner on payments, vault · prod"]
    form = world.pick(ANN, view, "dbas")
    offered = [o["value"] for b in form["blocks"] if b.get("block_id") == "roles" for o in b["element"]["options"]]
    assert offered == [TEAM_MEMBER] and not in_team(world, ANN)

    # when ann asks for 2 hours and bob, who owns payments, approves
    request = world.request(ANN, "dbas", [TEAM_MEMBER], duration="2h")
    assert "team *dbas*" in world.message_text(request)
    world.click(BOB, "approve", request)
    grant = world.wait_grant(request, GrantStatus.ACTIVE)

    # then she is in the team in Atlas; cat, in it before, asks too and is approved
    assert in_team(world, ANN) and grant.added_roles == (TEAM_MEMBER,) and grant.baseline_roles == ()
    cats = world.request(CAT, "dbas", [TEAM_MEMBER], duration="1h")
    world.click(BOB, "approve", cats)
    cat_grant = world.wait_grant(cats, GrantStatus.ACTIVE)
    assert cat_grant.baseline_roles == (TEAM_MEMBER,) and cat_grant.added_roles == ()

    # when the hour is up, cat's grant ends and she stays in the team, as she was before
    world.expire(timedelta(hours=1))
    assert world.get(cats.id or 0)[1].status is GrantStatus.REVOKED  # type: ignore[union-attr]
    assert in_team(world, CAT) and in_team(world, ANN)

    # and when ann's 2 hours are up, she is out of the team again, still in the organization, and told
    world.expire(timedelta(hours=1))
    assert world.get(request.id or 0)[1].status is GrantStatus.REVOKED  # type: ignore[union-attr]
    assert not in_team(world, ANN) and world.sb.org_user(world.atlas.org_id, EMAILS[ANN]) is not None
    assert any("team *dbas*" in t for t in world.dm_texts(ANN))
    assert [e.action for e in world.audit() if e.request_id == request.id] == [
        "requested", "approved", "granted", "revoked"]


def test_reconciliation_reports_team_memberships_nobody_granted_without_extra_atlas_calls(
        team_world: Harness) -> None:
    world = team_world
    team_id: str = world.team  # type: ignore[attr-defined]
    team = ResourceRef(kind=ResourceKind.TEAM, organization_id=world.atlas.org_id, atlas_id=team_id, name="dbas")
    # given someone put eve in dbas in Atlas directly (cat was in it already, with no request either)
    world.runtime.gateways("prod").grant(resource=team, username=EMAILS[EVE], roles=[TEAM_MEMBER])
    before = {op: world.sb.count(op) for op in ("listOrgTeamUsers", "getOrgTeam", "getOrgUser")}

    # when the scheduled job syncs and reconciles
    Timers(world.runtime).reconcile_all()

    # then both memberships are reported once, as unmanaged TEAM_MEMBER on the team, and kept
    reported = sorted((e.detail["username"], e.detail["resource_id"])
                      for e in world.audit("unmanaged_role") if e.detail["role"] == TEAM_MEMBER)
    assert reported == [(EMAILS[CAT], team_id), (EMAILS[EVE], team_id)]
    assert any("eve@example.com: member of team dbas" in m.get("text", "") for m in world.sim.messages(CHANNEL))
    assert in_team(world, EVE) and in_team(world, CAT)
    # and it needed no call per team or per user: the sync's listOrgUsers carries each user's teamIds
    assert {op: world.sb.count(op) for op in before} == before
    Timers(world.runtime).reconcile_all()
    assert len([e for e in world.audit("unmanaged_role") if e.detail["role"] == TEAM_MEMBER]) == 2  # once

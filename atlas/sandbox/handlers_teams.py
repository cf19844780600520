"""Teams: enough of them to list, create, fill and assign to projects (access through a team is real access)."""

from __future__ import annotations

from atlas.sandbox import members, views
from atlas.sandbox.context import Ctx, Handler, Reply
from atlas.sandbox.errors import DUPLICATE_TEAM_NAME, TEAM_NOT_FOUND, bad_request, conflict, not_found
from atlas.sandbox.records import Team


def _team(ctx: Ctx) -> Team:
    return ctx.state.team(ctx.params["orgId"], ctx.params["teamId"])


def list_org_teams(ctx: Ctx) -> Reply:
    teams = [t for t in ctx.state.teams.values() if t.org_id == ctx.params["orgId"]]
    return ctx.page(teams, views.team)


def get_org_team(ctx: Ctx) -> Reply:
    return 200, views.team(_team(ctx))


def get_org_team_by_name(ctx: Ctx) -> Reply:
    for team in ctx.state.teams.values():
        if team.org_id == ctx.params["orgId"] and team.name == ctx.params["teamName"]:
            return 200, views.team(team)
    raise not_found(f"No team named {ctx.params['teamName']} exists in organization {ctx.params['orgId']}.",
                    TEAM_NOT_FOUND)


def create_org_team(ctx: Ctx) -> Reply:
    name = ctx.field("name")
    usernames = ctx.field("usernames", list)
    org_id = ctx.params["orgId"]
    if any(t.org_id == org_id and t.name == name for t in ctx.state.teams.values()):
        raise conflict(f"A team named {name} already exists in organization {org_id}.", DUPLICATE_TEAM_NAME)
    team = Team(id=ctx.state.new_id(), org_id=org_id, name=name)
    ctx.state.teams[team.id] = team
    for username in usernames:
        membership = ctx.state.membership_of(org_id, str(username))
        if membership is None:
            raise bad_request(f"{username} is not a member of organization {org_id}.")
        team.user_ids.add(membership.user_id)
        membership.team_ids.add(team.id)
    return 200, {**views.team(team), "usernames": sorted(str(u) for u in usernames)}


def delete_org_team(ctx: Ctx) -> Reply:
    team = _team(ctx)
    for user_id in team.user_ids:
        ctx.state.members[team.org_id][user_id].team_ids.discard(team.id)
    del ctx.state.teams[team.id]
    return 204, None


def list_org_team_users(ctx: Ctx) -> Reply:
    team = _team(ctx)
    found = [ctx.state.members[team.org_id][uid] for uid in sorted(team.user_ids)]
    return ctx.page(found, lambda m: views.org_user(ctx.state.people[m.user_id], m))


def add_org_team_user(ctx: Ctx) -> Reply:
    team = _team(ctx)
    membership = ctx.state.membership(team.org_id, ctx.field("id"))
    team.user_ids.add(membership.user_id)
    membership.team_ids.add(team.id)
    return 200, views.org_user(ctx.state.people[membership.user_id], membership)


def remove_org_team_user(ctx: Ctx) -> Reply:
    team = _team(ctx)
    membership = ctx.state.membership(team.org_id, ctx.field("id"))
    team.user_ids.discard(membership.user_id)
    membership.team_ids.discard(team.id)
    return 200, views.org_user(ctx.state.people[membership.user_id], membership)


def list_group_teams(ctx: Ctx) -> Reply:
    group_id = ctx.state.project(ctx.params["groupId"]).id
    teams = [t for t in ctx.state.teams.values() if group_id in t.group_roles]
    return ctx.page(teams, lambda t: views.team_role(t, group_id))


def get_group_team(ctx: Ctx) -> Reply:
    team = _group_team(ctx)
    return 200, views.team_role(team, ctx.params["groupId"])


def add_group_teams(ctx: Ctx) -> Reply:
    project = ctx.state.project(ctx.params["groupId"])
    if not isinstance(ctx.body, list) or not ctx.body:
        raise bad_request("addGroupTeams takes a non-empty array of {teamId, roleNames}.")
    for item in ctx.body:
        if not isinstance(item, dict):
            raise bad_request("Each item needs teamId and roleNames.")
        team = ctx.state.team(project.org_id, str(item.get("teamId")))
        team.group_roles[project.id] = members.group_roles(item.get("roleNames") or [])
    teams = [t for t in ctx.state.teams.values() if project.id in t.group_roles]
    return ctx.page(teams, lambda t: views.team_role(t, project.id))


def update_group_team(ctx: Ctx) -> Reply:
    team = _group_team(ctx)
    team.group_roles[ctx.params["groupId"]] = members.group_roles(ctx.field("roleNames", list))
    return ctx.page([team], lambda t: views.team_role(t, ctx.params["groupId"]))


def remove_group_team(ctx: Ctx) -> Reply:
    team = _group_team(ctx)
    del team.group_roles[ctx.params["groupId"]]
    return 204, None


def _group_team(ctx: Ctx) -> Team:
    project = ctx.state.project(ctx.params["groupId"])
    team = ctx.state.team(project.org_id, ctx.params["teamId"])
    if project.id not in team.group_roles:
        raise not_found(f"Team {team.id} is not assigned to group {project.id}.", TEAM_NOT_FOUND)
    return team


HANDLERS: dict[str, Handler] = {
    "listOrgTeams": list_org_teams,
    "getOrgTeam": get_org_team,
    "getOrgTeamByName": get_org_team_by_name,
    "createOrgTeam": create_org_team,
    "deleteOrgTeam": delete_org_team,
    "listOrgTeamUsers": list_org_team_users,
    "addOrgTeamUser": add_org_team_user,
    "removeOrgTeamUser": remove_org_team_user,
    "listGroupTeams": list_group_teams,
    "getGroupTeam": get_group_team,
    "addGroupTeams": add_group_teams,
    "updateGroupTeam": update_group_team,
    "removeGroupTeam": remove_group_team,
}

"""Org and project access as Atlas rules it: invitations, 409 on duplicates, at least one role, cascading removal."""

from __future__ import annotations

import pytest

from tests.atlas.sandbox.conftest import Acme, Api, assert_atlas_error

ANN = "ann@example.com"


@pytest.fixture
def api(acme: Acme) -> Api:
    return acme.digest()


@pytest.fixture
def group(acme: Acme) -> str:
    return acme.sandbox.add_project(org_id=acme.org_id, name="payments", tags={"owner": "payments-oncall"})


def invite(acme: Acme, api: Api, *roles: str) -> dict:
    response = api.call("createOrgUser", orgId=acme.org_id,
                        json={"username": ANN, "roles": {"orgRoles": list(roles or ["ORG_MEMBER"])}})
    assert response.status_code == 201, response.text
    return response.json()


def test_adding_someone_to_the_org_is_an_invitation_until_they_accept(acme: Acme, api: Api) -> None:
    # When the bot adds Ann to the organization
    created = invite(acme, api, "ORG_READ_ONLY")
    # Then she is PENDING, with the roles the invitation carries and who sent it
    assert created["orgMembershipStatus"] == "PENDING" and created["roles"]["orgRoles"] == ["ORG_READ_ONLY"]
    assert created["inviterUsername"].startswith(acme.public_key)
    assert created["invitationExpiresAt"] == "2026-04-01T09:00:00Z"  # 30 days on the sandbox clock
    # When she clicks the email
    acme.sandbox.accept_invitation(org_id=acme.org_id, username=ANN)
    # Then she is ACTIVE with those roles
    user = api.call("getOrgUser", orgId=acme.org_id, userId=created["id"]).json()
    assert user["orgMembershipStatus"] == "ACTIVE" and user["roles"]["orgRoles"] == ["ORG_READ_ONLY"]
    assert {"firstName", "lastName", "createdAt"} <= set(user)


@pytest.mark.parametrize("status", ["PENDING", "ACTIVE"])
def test_adding_a_pending_or_active_user_again_is_409(acme: Acme, api: Api, status: str) -> None:
    acme.sandbox.add_user(org_id=acme.org_id, username=ANN, status=status)
    response = api.call("createOrgUser", orgId=acme.org_id,
                        json={"username": ANN, "roles": {"orgRoles": ["ORG_MEMBER"]}})
    assert_atlas_error(response, 409, "ORG_USER_ALREADY_EXISTS")


def test_an_invitation_expires_after_30_days_and_may_be_sent_again(acme: Acme, api: Api) -> None:
    invite(acme, api)
    acme.clock.advance(days=30)
    assert acme.sandbox.org_user(acme.org_id, ANN)["orgMembershipStatus"] == "INVITATION_EXPIRED"
    with pytest.raises(ValueError, match="No pending invitation"):
        acme.sandbox.accept_invitation(org_id=acme.org_id, username=ANN)
    assert invite(acme, api)["orgMembershipStatus"] == "PENDING"


def test_org_roles_are_added_and_removed_one_at_a_time_keeping_one(acme: Acme, api: Api) -> None:
    user_id = acme.sandbox.add_user(org_id=acme.org_id, username=ANN, org_roles=["ORG_MEMBER"])
    path = {"orgId": acme.org_id, "userId": user_id}
    added = api.call("addOrgUserRole", json={"orgRole": "ORG_READ_ONLY"}, **path)
    assert added.status_code == 200 and added.json()["roles"]["orgRoles"] == ["ORG_MEMBER", "ORG_READ_ONLY"]
    assert_atlas_error(api.call("addOrgUserRole", json={"orgRole": "ORG_READ_ONLY"}, **path), 409,
                       "ROLE_ALREADY_ASSIGNED")
    assert api.call("removeOrgUserRole", json={"orgRole": "ORG_MEMBER"}, **path).status_code == 200
    # Then the last role cannot go: the user must be removed instead
    last = api.call("removeOrgUserRole", json={"orgRole": "ORG_READ_ONLY"}, **path)
    assert_atlas_error(last, 400, "CANNOT_REMOVE_LAST_ROLE")
    assert acme.sandbox.org_roles(acme.org_id, ANN) == {"ORG_READ_ONLY"}


def test_removing_an_org_user_removes_their_project_roles_too(acme: Acme, api: Api, group: str) -> None:
    user_id = acme.sandbox.add_user(org_id=acme.org_id, username=ANN, project_roles={group: ["GROUP_READ_ONLY"]})
    assert api.call("removeOrgUser", orgId=acme.org_id, userId=user_id).status_code == 204
    assert acme.sandbox.org_user(acme.org_id, ANN) is None and acme.sandbox.project_roles(group, ANN) == set()
    assert api.call("listGroupUsers", groupId=group).json()["results"] == []
    assert_atlas_error(api.call("removeOrgUser", orgId=acme.org_id, userId=user_id), 404, "USER_NOT_FOUND")


def test_an_active_member_is_added_to_a_project_at_once(acme: Acme, api: Api, group: str) -> None:
    acme.sandbox.add_user(org_id=acme.org_id, username=ANN)
    response = api.call("addGroupUsers", groupId=group, json={"username": ANN, "roles": ["GROUP_READ_ONLY"]})
    assert response.status_code == 201
    assert response.json()["orgMembershipStatus"] == "ACTIVE" and response.json()["roles"] == ["GROUP_READ_ONLY"]
    again = api.call("addGroupUsers", groupId=group, json={"username": ANN, "roles": ["GROUP_OWNER"]})
    assert_atlas_error(again, 409, "USER_ALREADY_IN_GROUP")


def test_a_non_member_added_to_a_project_gets_an_org_invitation_carrying_the_roles(acme: Acme, api: Api,
                                                                                  group: str) -> None:
    response = api.call("addGroupUsers", groupId=group,
                        json={"username": ANN, "roles": ["GROUP_DATA_ACCESS_READ_ONLY"]})
    assert response.status_code == 201 and response.json()["orgMembershipStatus"] == "PENDING"
    org_user = acme.sandbox.org_user(acme.org_id, ANN)
    assert org_user["orgMembershipStatus"] == "PENDING" and org_user["roles"]["orgRoles"] == ["ORG_MEMBER"]
    assert org_user["roles"]["groupRoleAssignments"] == [
        {"groupId": group, "groupRoles": ["GROUP_DATA_ACCESS_READ_ONLY"]}]
    # When she accepts, she is ACTIVE in the project with the roles the invitation carried
    acme.sandbox.accept_invitation(org_id=acme.org_id, username=ANN)
    member = api.call("getGroupUser", groupId=group, userId=response.json()["id"]).json()
    assert member["orgMembershipStatus"] == "ACTIVE" and member["roles"] == ["GROUP_DATA_ACCESS_READ_ONLY"]


def test_project_roles_keep_at_least_one(acme: Acme, api: Api, group: str) -> None:
    user_id = acme.sandbox.add_user(org_id=acme.org_id, username=ANN, project_roles={group: ["GROUP_READ_ONLY"]})
    path = {"groupId": group, "userId": user_id}
    assert api.call("addGroupUserRole", json={"groupRole": "GROUP_CLUSTER_MANAGER"}, **path).status_code == 200
    assert_atlas_error(api.call("addGroupUserRole", json={"groupRole": "GROUP_READ_ONLY"}, **path), 409)
    assert api.call("removeGroupUserRole", json={"groupRole": "GROUP_READ_ONLY"}, **path).json()["roles"] == [
        "GROUP_CLUSTER_MANAGER"]
    assert_atlas_error(api.call("removeGroupUserRole", json={"groupRole": "GROUP_CLUSTER_MANAGER"}, **path), 400,
                       "CANNOT_REMOVE_LAST_ROLE")
    # Removing the user from the project is how the last role goes; she stays in the org
    assert api.call("removeGroupUser", **path).status_code == 204
    assert acme.sandbox.project_roles(group, ANN) == set()
    assert acme.sandbox.org_roles(acme.org_id, ANN) == {"ORG_MEMBER"}
    assert_atlas_error(api.call("removeGroupUser", **path), 404, "USER_NOT_FOUND")


def test_a_new_project_role_name_is_taken_an_invalid_one_is_not(acme: Acme, api: Api, group: str) -> None:
    user_id = acme.sandbox.add_user(org_id=acme.org_id, username=ANN, project_roles={group: ["GROUP_READ_ONLY"]})
    path = {"groupId": group, "userId": user_id}
    assert api.call("addGroupUserRole", json={"groupRole": "GROUP_FUTURE_ROLE"}, **path).status_code == 200
    assert_atlas_error(api.call("addGroupUserRole", json={"groupRole": "ORG_OWNER"}, **path), 400, "INVALID_ROLE")


def test_users_are_found_by_username(acme: Acme, api: Api, group: str) -> None:
    acme.sandbox.add_user(org_id=acme.org_id, username=ANN, project_roles={group: ["GROUP_READ_ONLY"]})
    acme.sandbox.add_user(org_id=acme.org_id, username="bob@example.com", project_roles={group: ["GROUP_OWNER"]})
    found = api.call("listOrgUsers", orgId=acme.org_id, params={"username": ANN}).json()
    assert [u["username"] for u in found["results"]] == [ANN] and found["totalCount"] == 1
    in_group = api.call("listGroupUsers", groupId=group, params={"username": "bob@example.com"}).json()
    assert [(u["username"], u["roles"]) for u in in_group["results"]] == [("bob@example.com", ["GROUP_OWNER"])]
    assert api.call("listOrgUsers", orgId=acme.org_id, params={"username": "nobody@example.com"}).json()[
        "results"] == []


def test_a_person_has_one_id_across_organizations(acme: Acme) -> None:
    other = acme.sandbox.add_org(name="Other")
    first = acme.sandbox.add_user(org_id=acme.org_id, username=ANN)
    second = acme.sandbox.add_user(org_id=other, username=ANN, status="PENDING")
    assert first == second == acme.sandbox.user_id(ANN)
    assert acme.sandbox.org_user(other, ANN)["orgMembershipStatus"] == "PENDING"
    assert acme.sandbox.org_user(acme.org_id, ANN)["orgMembershipStatus"] == "ACTIVE"


def test_teams_exist_and_carry_project_roles(acme: Acme, api: Api, group: str) -> None:
    acme.sandbox.add_user(org_id=acme.org_id, username=ANN)
    team = acme.sandbox.add_team(org_id=acme.org_id, name="dba", usernames=[ANN])
    acme.sandbox.assign_team(group_id=group, team_id=team, roles=["GROUP_OWNER"])
    assert [t["name"] for t in api.call("listOrgTeams", orgId=acme.org_id).json()["results"]] == ["dba"]
    assert api.call("listGroupTeams", groupId=group).json()["results"] == [
        {"teamId": team, "roleNames": ["GROUP_OWNER"]}]
    members = api.call("listOrgTeamUsers", orgId=acme.org_id, teamId=team).json()["results"]
    assert [m["username"] for m in members] == [ANN] and members[0]["teamIds"] == [team]
    assert api.call("getOrgTeamByName", orgId=acme.org_id, teamName="dba").json()["id"] == team


def test_patching_an_org_user_replaces_the_roles_given_or_changes_nothing(acme: Acme, api: Api, group: str) -> None:
    user_id = acme.sandbox.add_user(org_id=acme.org_id, username=ANN, project_roles={group: ["GROUP_READ_ONLY"]})
    path = {"orgId": acme.org_id, "userId": user_id}
    refused = api.call("updateOrgUser", json={"roles": {"orgRoles": ["ORG_OWNER"], "groupRoleAssignments": [
        {"groupId": group, "groupRoles": ["NOT_A_ROLE"]}]}}, **path)
    assert_atlas_error(refused, 400, "INVALID_ROLE")
    assert acme.sandbox.org_roles(acme.org_id, ANN) == {"ORG_MEMBER"}
    patched = api.call("updateOrgUser", json={"roles": {"orgRoles": ["ORG_OWNER"], "groupRoleAssignments": [
        {"groupId": group, "groupRoles": ["GROUP_OWNER"]}]}}, **path)
    assert patched.status_code == 200 and patched.json()["roles"] == {
        "orgRoles": ["ORG_OWNER"], "groupRoleAssignments": [{"groupId": group, "groupRoles": ["GROUP_OWNER"]}]}


def test_teams_are_created_and_filled_through_the_api(acme: Acme, api: Api, group: str) -> None:
    user_id = acme.sandbox.add_user(org_id=acme.org_id, username=ANN)
    team = api.call("createOrgTeam", orgId=acme.org_id, json={"name": "oncall", "usernames": []}).json()
    assert_atlas_error(api.call("createOrgTeam", orgId=acme.org_id, json={"name": "oncall", "usernames": []}), 409)
    added = api.call("addOrgTeamUser", orgId=acme.org_id, teamId=team["id"], json={"id": user_id})
    assert added.json()["teamIds"] == [team["id"]]
    assigned = api.call("addGroupTeams", groupId=group, json=[{"teamId": team["id"], "roleNames": ["GROUP_READ_ONLY"]}])
    assert assigned.json()["results"] == [{"teamId": team["id"], "roleNames": ["GROUP_READ_ONLY"]}]
    assert api.call("removeGroupTeam", groupId=group, teamId=team["id"]).status_code == 204
    assert api.call("deleteOrgTeam", orgId=acme.org_id, teamId=team["id"]).status_code == 204
    assert acme.sandbox.org_user(acme.org_id, ANN)["teamIds"] == []

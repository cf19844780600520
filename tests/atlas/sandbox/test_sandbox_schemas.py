"""The sandbox's answers are valid against the official spec's response schemas (the other side of conformance)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.atlas.sandbox.conftest import Acme, Api
from tests.atlas.sandbox.spec_schemas import assert_valid, media


@pytest.fixture
def seeded(acme: Acme) -> dict[str, str]:
    sb = acme.sandbox
    group = sb.add_project(org_id=acme.org_id, name="payments", tags={"owner": "payments-oncall", "env": "prod"})
    sb.add_cluster(group_id=group, name="Cluster0", state="IDLE")
    ann = sb.add_user(org_id=acme.org_id, username="ann@example.com", project_roles={group: ["GROUP_READ_ONLY"]})
    bob = sb.add_user(org_id=acme.org_id, username="bob@example.com", org_roles=["ORG_READ_ONLY"], status="PENDING",
                      project_roles={group: ["GROUP_OWNER"]})
    team = sb.add_team(org_id=acme.org_id, name="dba", usernames=["ann@example.com"])
    sb.assign_team(group_id=group, team_id=team, roles=["GROUP_OWNER"])
    return {"group": group, "ann": ann, "bob": bob, "team": team}


def check(api: Api, operation_id: str, version: str, *, status: int = 200, **kwargs: object) -> dict:
    response = api.call(operation_id, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == status, response.text
    assert_valid(response.json(), operation_id=operation_id, status=status, media=media(version))
    return dict(response.json())


def test_discovery_answers_match_the_spec(acme: Acme, seeded: dict[str, str]) -> None:
    api = acme.digest()
    check(api, "getSystemStatus", "2023-01-01")
    check(api, "listOrgs", "2023-01-01")
    check(api, "getOrg", "2023-01-01", orgId=acme.org_id)
    check(api, "getOrgGroups", "2023-01-01", orgId=acme.org_id)
    check(api, "listGroups", "2023-01-01")
    check(api, "getGroup", "2023-01-01", groupId=seeded["group"])
    check(api, "listGroupClusters", "2024-08-05", groupId=seeded["group"])
    check(api, "listClusterDetails", "2023-01-01")
    check(api, "listOrgTeams", "2023-01-01", orgId=acme.org_id)
    check(api, "listGroupTeams", "2023-01-01", groupId=seeded["group"])
    check(api, "getOrgTeam", "2023-01-01", orgId=acme.org_id, teamId=seeded["team"])
    check(api, "listRateLimits", "2025-03-12")


def test_user_answers_match_the_spec_active_and_pending(acme: Acme, seeded: dict[str, str]) -> None:
    api = acme.digest()
    users = check(api, "listOrgUsers", "2025-02-19", orgId=acme.org_id)
    assert {u["orgMembershipStatus"] for u in users["results"]} == {"ACTIVE", "PENDING"}
    check(api, "listGroupUsers", "2025-02-19", groupId=seeded["group"])
    check(api, "listOrgTeamUsers", "2025-02-19", orgId=acme.org_id, teamId=seeded["team"])
    for user in ("ann", "bob"):
        check(api, "getOrgUser", "2025-02-19", orgId=acme.org_id, userId=seeded[user])
        check(api, "getGroupUser", "2025-02-19", groupId=seeded["group"], userId=seeded[user])
    check(api, "createOrgUser", "2025-02-19", status=201, orgId=acme.org_id,
          json={"username": "cy@example.com", "roles": {"orgRoles": ["ORG_MEMBER"]}})
    check(api, "addGroupUsers", "2025-02-19", status=201, groupId=seeded["group"],
          json={"username": "dee@example.com", "roles": ["GROUP_READ_ONLY"]})
    check(api, "addOrgUserRole", "2025-02-19", orgId=acme.org_id, userId=seeded["ann"],
          json={"orgRole": "ORG_READ_ONLY"})
    check(api, "addGroupUserRole", "2025-02-19", groupId=seeded["group"], userId=seeded["ann"],
          json={"groupRole": "GROUP_CLUSTER_MANAGER"})


def test_credential_answers_match_the_spec(acme: Acme) -> None:
    api = acme.digest()
    key = check(api, "createOrgApiKey", "2023-01-01", orgId=acme.org_id,
                json={"desc": "rotated", "roles": ["ORG_OWNER"]})
    check(api, "listOrgApiKeys", "2023-01-01", orgId=acme.org_id)
    check(api, "createOrgApiKeyAccessListEntry", "2023-01-01", orgId=acme.org_id, apiUserId=key["id"],
          json=[{"ipAddress": "192.0.2.10"}, {"cidrBlock": "198.51.100.0/24"}])
    check(api, "getOrgApiKeyAccessListEntry", "2023-01-01", orgId=acme.org_id, apiUserId=key["id"],
          ipAddress="198.51.100.0/24")
    account = check(api, "createOrgServiceAccount", "2024-08-05", status=201, orgId=acme.org_id,
                    json={"name": "bot", "description": "the bot", "roles": ["ORG_OWNER"],
                          "secretExpiresAfterHours": 720})
    check(api, "getOrgServiceAccount", "2024-08-05", orgId=acme.org_id, clientId=account["clientId"])
    check(api, "listOrgServiceAccounts", "2024-08-05", orgId=acme.org_id)
    check(api, "createOrgServiceAccountSecret", "2024-08-05", status=201, orgId=acme.org_id,
          clientId=account["clientId"], json={"secretExpiresAfterHours": 24})
    check(api, "createOrgServiceAccountAccessList", "2024-08-05", orgId=acme.org_id, clientId=account["clientId"],
          json=[{"ipAddress": "192.0.2.10"}])


def test_database_user_answers_match_the_spec(acme: Acme, seeded: dict[str, str]) -> None:
    api = acme.digest()
    when = (acme.clock.now() + timedelta(hours=8)).isoformat().replace("+00:00", "Z")
    check(api, "createGroupDatabaseUser", "2023-01-01", status=201, groupId=seeded["group"],
          json={"username": "tmp-ann", "databaseName": "admin", "password": "s3cret-pass", "groupId": seeded["group"],
                "roles": [{"roleName": "read", "databaseName": "sales"}], "deleteAfterDate": when,
                "scopes": [{"name": "Cluster0", "type": "CLUSTER"}]})
    check(api, "listGroupDatabaseUsers", "2023-01-01", groupId=seeded["group"])
    check(api, "getGroupDatabaseUser", "2023-01-01", groupId=seeded["group"], databaseName="admin", username="tmp-ann")

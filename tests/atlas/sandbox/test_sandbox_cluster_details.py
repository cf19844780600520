"""listClusterDetails as Atlas documents it: every project the credential sees, any organization, 500 a page,
each with its clusters as CloudCluster, less the multi-cloud ones; valid against the spec's PaginatedOrgGroupView."""

from __future__ import annotations

from tests.atlas.sandbox.conftest import Acme
from tests.atlas.sandbox.spec_schemas import assert_valid, media


def test_projects_of_the_own_org_with_their_clusters_and_no_multi_cloud_one(acme: Acme) -> None:
    sb = acme.sandbox
    payments = sb.add_project(org_id=acme.org_id, name="payments", tags={"owner": "payments-oncall"})
    sb.add_cluster(group_id=payments, name="main", state="IDLE")
    sb.add_cluster(group_id=payments, name="everywhere", multi_cloud=True)
    sb.add_cluster(group_id=payments, name="old", state="PAUSED")
    empty = sb.add_project(org_id=acme.org_id, name="empty")

    response = acme.digest().call("listClusterDetails")

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/vnd.atlas.2023-01-01+json"
    body = response.json()
    assert_valid(body, operation_id="listClusterDetails", status=200, media=media("2023-01-01"))
    assert body["totalCount"] == 2
    by_id = {g["groupId"]: g for g in body["results"]}
    assert by_id[payments]["groupName"] == "payments" and by_id[payments]["orgId"] == acme.org_id
    assert by_id[payments]["orgName"] == "Acme"
    assert {(c["name"], c["availability"]) for c in by_id[payments]["clusters"]} == {
        ("main", "available"), ("old", "dead")}
    assert by_id[empty]["clusters"] == []
    # the per-project listing still has the multi-cloud cluster, and clusterCount counts it
    listed = acme.digest().call("listGroupClusters", groupId=payments).json()
    assert {c["name"] for c in listed["results"]} == {"main", "everywhere", "old"}
    assert acme.digest().call("getGroup", groupId=payments).json()["clusterCount"] == 3


def test_an_org_the_credential_reads_shows_too_but_only_to_that_credential(acme: Acme) -> None:
    sb = acme.sandbox
    ours = sb.add_project(org_id=acme.org_id, name="ours")
    other_org = sb.add_org(name="Globex")
    theirs = sb.add_project(org_id=other_org, name="theirs")
    sb.add_cluster(group_id=theirs, name="globex-main")
    sb.add_org_reader(org_id=other_org, identity=acme.public_key)

    body = acme.digest().call("listClusterDetails").json()

    assert [(g["groupId"], g["orgId"], g["orgName"]) for g in body["results"]] == [
        (ours, acme.org_id, "Acme"), (theirs, other_org, "Globex")]
    assert body["results"][1]["clusters"][0]["name"] == "globex-main"
    # the service account of Acme was not made a reader: it sees Acme only
    seen = acme.bearer().call("listClusterDetails").json()
    assert [g["groupId"] for g in seen["results"]] == [ours]
    # and naming the other org stays refused
    assert acme.digest().call("getOrgGroups", orgId=other_org).status_code == 401


def test_pages_of_500_with_total_and_next_link(acme: Acme) -> None:
    projects = [acme.sandbox.add_project(org_id=acme.org_id, name=f"p-{i:04d}") for i in range(1001)]
    api = acme.digest()
    seen, page = [], 1
    while True:
        body = api.call("listClusterDetails", params={"itemsPerPage": 500, "pageNum": page,
                                                      "includeCount": "true"}).json()
        assert body["totalCount"] == 1001
        seen += [g["groupId"] for g in body["results"]]
        if not any(link["rel"] == "next" for link in body["links"]):
            break
        page += 1
    assert page == 3 and seen == projects


def test_a_removed_project_is_gone_from_every_listing(acme: Acme) -> None:
    sb = acme.sandbox
    group = sb.add_project(org_id=acme.org_id, name="short-lived")
    sb.add_cluster(group_id=group, name="c0")
    ann = sb.add_user(org_id=acme.org_id, username="ann@example.com", project_roles={group: ["GROUP_READ_ONLY"]})
    sb.remove_project(group_id=group)
    api = acme.digest()
    assert api.call("listClusterDetails").json()["results"] == []
    assert api.call("listGroupClusters", groupId=group).json()["errorCode"] == "GROUP_NOT_FOUND"
    user = api.call("getOrgUser", orgId=acme.org_id, userId=ann).json()
    assert user["roles"]["groupRoleAssignments"] == []

"""Lists page as Atlas's do: pageNum from 1, itemsPerPage 1..500 (default 100), totalCount, self/next links."""

from __future__ import annotations

import pytest

from tests.atlas.sandbox.conftest import Acme, assert_atlas_error


@pytest.fixture
def many_projects(acme: Acme) -> list[str]:
    return [acme.sandbox.add_project(org_id=acme.org_id, name=f"project-{i:04d}") for i in range(1203)]


def test_walking_500_a_page_sees_every_item_once(acme: Acme, many_projects: list[str]) -> None:
    api = acme.digest()
    seen, page = [], 1
    while True:
        body = api.call("getOrgGroups", orgId=acme.org_id, params={"itemsPerPage": 500, "pageNum": page}).json()
        assert body["totalCount"] == 1203
        seen += [p["id"] for p in body["results"]]
        if not any(link["rel"] == "next" for link in body["links"]):
            break
        page += 1
    assert page == 3 and seen == many_projects


def test_the_default_page_is_100_and_links_name_the_pages(acme: Acme, many_projects: list[str]) -> None:
    body = acme.digest().call("getOrgGroups", orgId=acme.org_id, params={"pageNum": 2}).json()
    assert len(body["results"]) == 100 and body["results"][0]["name"] == "project-0100"
    links = {link["rel"]: link["href"] for link in body["links"]}
    assert set(links) == {"self", "previous", "next"}
    assert links["next"].startswith(f"https://cloud.mongodb.com/api/atlas/v2/orgs/{acme.org_id}/groups?")
    assert "pageNum=3" in links["next"] and "pageNum=1" in links["previous"]


def test_a_page_past_the_end_is_empty(acme: Acme, many_projects: list[str]) -> None:
    body = acme.digest().call("getOrgGroups", orgId=acme.org_id, params={"itemsPerPage": 500, "pageNum": 4}).json()
    assert body["results"] == [] and body["totalCount"] == 1203


def test_include_count_false_leaves_the_count_out(acme: Acme) -> None:
    body = acme.digest().call("getOrgGroups", orgId=acme.org_id, params={"includeCount": "false"}).json()
    assert "totalCount" not in body and body["results"] == []


@pytest.mark.atlas_nonconforming
@pytest.mark.parametrize("params", [
    {"itemsPerPage": 501}, {"itemsPerPage": 0}, {"itemsPerPage": "ten"}, {"pageNum": 0}, {"includeCount": "maybe"},
])
def test_out_of_range_paging_is_400(acme: Acme, params: dict[str, object]) -> None:
    response = acme.digest().call("listOrgUsers", orgId=acme.org_id, params=params)
    body = assert_atlas_error(response, 400, "VALIDATION_ERROR")
    assert next(iter(params)) in body["detail"]

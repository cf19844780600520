"""The sandbox as a world: repeatable ids, no lost writes under concurrency, seeding mistakes said plainly."""

from __future__ import annotations

import re
import threading

import pytest

from atlas.sandbox import Sandbox
from tests.atlas.sandbox.conftest import Acme, FakeClock


def build(seed: int) -> tuple[str, str, str, tuple[str, str]]:
    sandbox = Sandbox(clock=FakeClock(), seed=seed)
    org = sandbox.add_org(name="Acme")
    group = sandbox.add_project(org_id=org, name="p")
    user = sandbox.add_user(org_id=org, username="ann@example.com")
    return org, group, user, sandbox.add_api_key(org_id=org)


def test_ids_and_keys_repeat_for_a_seed() -> None:
    first = build(0)
    assert first == build(0) and first != build(1)
    assert all(re.fullmatch(r"[a-f0-9]{24}", value) for value in first[:3])


def test_concurrent_writes_lose_nothing(acme: Acme) -> None:
    # Given forty callers inviting forty different people at the same moment
    api = acme.digest()
    api.call("getOrg", orgId=acme.org_id)
    start = threading.Barrier(40)
    statuses: list[int] = []

    def invite(i: int) -> None:
        start.wait()
        response = api.call("createOrgUser", orgId=acme.org_id,
                            json={"username": f"user{i}@example.com", "roles": {"orgRoles": ["ORG_MEMBER"]}})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=invite, args=(i,)) for i in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then every invitation exists once, each with its own id
    listed = api.call("listOrgUsers", orgId=acme.org_id, params={"itemsPerPage": 500}).json()
    assert statuses == [201] * 40 and listed["totalCount"] == 40
    assert len({u["id"] for u in listed["results"]}) == 40


@pytest.mark.parametrize(("seed_call", "message"), [
    (lambda sb, org: sb.add_project(org_id="65a0ffffffffffffffffffff", name="p"), "No organization"),
    (lambda sb, org: sb.add_user(org_id=org, username="a@example.com", org_roles=["ORG_EMPEROR"]), "ORG_EMPEROR"),
    (lambda sb, org: sb.add_user(org_id=org, username="a@example.com", status="ASLEEP"), "status"),
    (lambda sb, org: sb.accept_invitation(org_id=org, username="nobody@example.com"), "No pending invitation"),
])
def test_seeding_mistakes_are_value_errors(acme: Acme, seed_call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        seed_call(acme.sandbox, acme.org_id)  # type: ignore[operator]

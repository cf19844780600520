"""The PagerDuty sandbox answers as PagerDuty's spec says: token auth, the versioned Accept header, documented
query parameters only, offset paging, and PagerDuty's error objects (their bodies checked against the spec's
schemas) for 400, 401, 403, 404 and 429, the last with its rate-limit headers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from bot.clock import ManualClock
from pagerduty.sandbox import PagerDutySandbox, PagerDutyTransport
from tests.support.vendor_spec import load_vendor_spec

ACCEPT = "application/vnd.pagerduty+json;version=2"
H = timedelta(hours=1)


@pytest.fixture
def world() -> tuple[PagerDutySandbox, httpx.Client, str]:
    clock = ManualClock()
    sandbox = PagerDutySandbox(clock=clock)
    key = sandbox.add_api_key()
    now = clock.now()
    for index in range(7):
        sandbox.add_user(f"PU{index}", name=f"P{index}", email=f"p{index}@example.com")
    sandbox.add_schedule("PPRIMARY", name="Primary", shifts=[(f"PU{i}", now - H, now + H) for i in range(7)])
    client = httpx.Client(transport=PagerDutyTransport(sandbox), base_url="https://api.pagerduty.com",
                          headers={"Accept": ACCEPT, "Authorization": f"Token token={key}"})
    return sandbox, client, key


def _error(response: httpx.Response, operation: str) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    assert load_vendor_spec("pagerduty").error_body_problems(operation, response.status_code, body) == []
    assert set(body) == {"error"} and isinstance(body["error"]["code"], int) and body["error"]["message"]
    return body


def test_on_calls_come_in_offset_pages_with_the_users_included(world: tuple[PagerDutySandbox, httpx.Client, str]
                                                               ) -> None:
    _, client, _ = world
    seen, offset = [], 0
    while True:
        page = client.get("/oncalls", params=[("schedule_ids[]", "PPRIMARY"), ("include[]", "users"),
                                              ("earliest", "true"), ("limit", "3"), ("offset", str(offset))]).json()
        seen += [entry["user"]["email"] for entry in page["oncalls"]]
        assert page["limit"] == 3 and page["offset"] == offset and page["total"] is None
        if not page["more"]:
            break
        offset += 3
    assert sorted(seen) == sorted(f"p{i}@example.com" for i in range(7))
    plain = client.get("/oncalls", params={"limit": "1"}).json()["oncalls"][0]["user"]
    assert plain["type"] == "user_reference" and "email" not in plain  # only with include[]=users


@pytest.mark.vendor_nonconforming  # each request breaks the spec on purpose
@pytest.mark.parametrize(("headers", "path", "params", "status"), [
    ({"Authorization": ""}, "/oncalls", {}, 401),
    ({"Authorization": "Token token=u+nope"}, "/oncalls", {}, 401),
    ({"Authorization": "Bearer KEY"}, "/oncalls", {}, 401),
    ({"Accept": "application/json"}, "/oncalls", {}, 400),
    ({}, "/oncalls", {"schedule_id": "PPRIMARY"}, 400),
    ({}, "/oncalls", {"limit": "1000"}, 400),
    ({}, "/oncalls", {"include[]": "teams"}, 400),
    ({}, "/schedules/PNOSUCH", {}, 404),
])
def test_refusals_are_pagerduty_error_objects(world: tuple[PagerDutySandbox, httpx.Client, str],
                                              headers: dict[str, str], path: str, params: dict[str, str],
                                              status: int) -> None:
    _, client, key = world
    sent = {k: v.replace("KEY", key) for k, v in headers.items()}
    response = client.get(path, params=params, headers=sent)
    assert response.status_code == status
    _error(response, "getSchedule" if path.startswith("/schedules") else "listOnCalls")


def test_a_key_without_access_is_forbidden(world: tuple[PagerDutySandbox, httpx.Client, str]) -> None:
    sandbox, client, _ = world
    weak = sandbox.add_api_key(can_read=False)
    response = client.get("/schedules/PPRIMARY", headers={"Authorization": f"Token token={weak}"})
    assert response.status_code == 403
    _error(response, "getSchedule")


def test_rate_limited_answers_say_when_to_come_back(world: tuple[PagerDutySandbox, httpx.Client, str]) -> None:
    sandbox, client, _ = world
    sandbox.fail_next(status=429, reset=7, operation_id="listOnCalls")
    response = client.get("/oncalls")
    assert response.status_code == 429 and response.headers["ratelimit-reset"] == "7"
    assert response.headers["ratelimit-remaining"] == "0"
    _error(response, "listOnCalls")
    assert client.get("/oncalls").status_code == 200


def test_a_schedule_reads_back_by_id(world: tuple[PagerDutySandbox, httpx.Client, str]) -> None:
    _, client, _ = world
    assert client.get("/schedules/PPRIMARY").json()["schedule"]["name"] == "Primary"


def test_the_checker_reports_what_the_spec_does_not_allow() -> None:
    spec = load_vendor_spec("pagerduty")
    base = {"method": "GET", "path": "/oncalls", "headers": {"accept": ACCEPT, "authorization": "Token"},
            "operation_id": "listOnCalls", "status": 200}
    assert spec.check({**base, "query": [["schedule_ids[]", "P1"], ["earliest", "true"], ["include[]", "users"]]}) == []
    assert "not defined" in spec.check({**base, "query": [["schedule_id", "P1"]]})[0]
    assert "is not one of" in spec.check({**base, "query": [["include[]", "teams"]]})[0]
    assert "Authorization" in spec.check({**base, "query": [], "headers": {"accept": ACCEPT}})[0]
    assert "Accept" in spec.check({**base, "query": [], "headers": {"accept": "x", "authorization": "Token"}})[0]
    assert "no operation" in spec.check({**base, "path": "/users/me", "query": []})[0]

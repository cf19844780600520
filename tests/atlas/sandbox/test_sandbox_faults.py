"""Injected trouble: latency on the serving thread, scripted failures, seeded random errors, a token bucket."""

from __future__ import annotations

import threading
import time

import pytest

from tests.atlas.sandbox.conftest import Acme, assert_atlas_error


def test_latency_is_slept_per_request_and_requests_overlap(acme: Acme) -> None:
    api = acme.digest()
    api.call("getOrg", orgId=acme.org_id)  # the Digest handshake, before the clock starts
    acme.sandbox.faults.latency = 0.1
    started = time.perf_counter()
    assert api.call("getOrg", orgId=acme.org_id).status_code == 200
    assert time.perf_counter() - started >= 0.1
    # When eight callers go at once, they wait side by side, not one after another
    threads = [threading.Thread(target=lambda: api.call("getOrg", orgId=acme.org_id)) for _ in range(8)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert time.perf_counter() - started < 0.5


def test_a_latency_range_is_seeded(acme: Acme) -> None:
    faults = acme.sandbox.faults
    faults.latency_range = (0.0, 0.002)
    faults.seed(7)
    first = [faults.delay() for _ in range(5)]
    faults.seed(7)
    assert [faults.delay() for _ in range(5)] == first and all(0 <= d <= 0.002 for d in first)


def test_a_scripted_429_carries_retry_after_then_the_call_succeeds(acme: Acme) -> None:
    api = acme.digest()
    acme.sandbox.faults.fail_next(status=429, retry_after=7, count=1)
    refused = api.call("getOrg", orgId=acme.org_id)
    assert_atlas_error(refused, 429, "RATE_LIMITED")
    assert refused.headers["Retry-After"] == "7"
    assert api.call("getOrg", orgId=acme.org_id).status_code == 200
    assert acme.sandbox.count("getOrg") == 2 and acme.sandbox.faults.pending == 0


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_scripted_5xx_are_atlas_shaped_and_scoped_to_their_operation(acme: Acme, status: int) -> None:
    api = acme.digest()
    acme.sandbox.faults.fail_next(status=status, count=2, operation_id="listOrgUsers")
    assert api.call("getOrg", orgId=acme.org_id).status_code == 200  # another operation is untouched
    for _ in range(2):
        assert_atlas_error(api.call("listOrgUsers", orgId=acme.org_id), status)
    assert api.call("listOrgUsers", orgId=acme.org_id).status_code == 200


def test_a_fault_comes_before_the_handler_so_nothing_changes(acme: Acme) -> None:
    acme.sandbox.faults.fail_next(status=503, operation_id="createOrgUser")
    response = acme.digest().call("createOrgUser", orgId=acme.org_id,
                                  json={"username": "ann@example.com", "roles": {"orgRoles": ["ORG_MEMBER"]}})
    assert_atlas_error(response, 503, "SERVICE_UNAVAILABLE")
    assert acme.sandbox.org_user(acme.org_id, "ann@example.com") is None


def test_unscoped_faults_spare_the_token_endpoint_unless_it_is_named(acme: Acme) -> None:
    acme.sandbox.faults.fail_next(status=503)
    token = acme.token()  # not hit
    assert_atlas_error(acme.bearer(token).call("getOrg", orgId=acme.org_id), 503)
    acme.sandbox.faults.fail_next(status=503, operation_id="oauthToken")
    response = acme.http().post("/api/oauth/token", data={"grant_type": "client_credentials"},
                                auth=(acme.client_id, acme.secret))
    assert_atlas_error(response, 503)


def test_random_errors_follow_the_seed(acme: Acme) -> None:
    api = acme.digest()
    api.call("getOrg", orgId=acme.org_id)

    def run() -> list[int]:
        acme.sandbox.faults.seed(1)
        acme.sandbox.faults.error_rate = {429: 0.2, 503: 0.2}
        statuses = [api.call("getOrg", orgId=acme.org_id).status_code for _ in range(60)]
        acme.sandbox.faults.error_rate = {}
        return statuses

    first = run()
    assert first == run()
    assert {200, 429, 503} <= set(first) and 10 < first.count(200) < 55


def test_the_token_bucket_refills_on_the_sandbox_clock(acme: Acme) -> None:
    api = acme.digest()
    api.call("getOrg", orgId=acme.org_id)
    acme.sandbox.faults.rate_limit(capacity=3, refill_per_second=0.5)
    assert [api.call("getOrg", orgId=acme.org_id).status_code for _ in range(3)] == [200, 200, 200]
    refused = api.call("getOrg", orgId=acme.org_id)
    assert_atlas_error(refused, 429, "RATE_LIMITED_TOKEN_BUCKET")
    assert refused.headers["Retry-After"] == "2" and refused.headers["RateLimit-Remaining"] == "0"
    acme.clock.advance(seconds=2)
    assert api.call("getOrg", orgId=acme.org_id).status_code == 200
    assert api.call("getOrg", orgId=acme.org_id).status_code == 429
    acme.sandbox.faults.clear()
    assert api.call("getOrg", orgId=acme.org_id).status_code == 200

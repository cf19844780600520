"""Stories: every Slack request is acknowledged at once; Slack posts and Atlas work come after the ack."""

from __future__ import annotations

import logging
import time

import pytest

from access.model import GrantStatus
from tests.e2e.harness import ANN, BOB, READ, SIGNING_SECRET, TOKEN, Harness, wait

ATLAS_LATENCY = 0.5  # seconds per Atlas call: a grant takes three (look up, look up, add)


def _timed(action: object) -> tuple[object, float]:
    started = time.monotonic()
    result = action()  # type: ignore[operator]
    return result, time.monotonic() - started


def test_an_auto_approved_submission_is_acked_before_atlas_is_called(world: Harness) -> None:
    # given Atlas answers slowly
    view = world.pick(ANN, world.open_modal(ANN), "playground")
    world.sb.faults.latency = ATLAS_LATENCY

    # when ann submits an auto-approved request
    response, ack_seconds = _timed(lambda: world.submit(ANN, view, roles=[READ], justification=""))

    # then the ack came back before Atlas was even asked to add her, and well within Slack's 3 s
    assert world.sb.count("addGroupUsers") == 0
    assert response.status_code == 200 and not response.content  # type: ignore[attr-defined]
    assert ack_seconds < 1.0
    request = wait(lambda: world.posted(world.latest_request_id(ANN)))
    world.wait_grant(request, GrantStatus.ACTIVE, timeout=10)
    assert world.sb.count("addGroupUsers") == 1


def test_an_approve_click_is_acked_before_atlas_is_called(world: Harness) -> None:
    request = world.request(ANN, "payments", [READ])
    world.sb.faults.latency = ATLAS_LATENCY
    response, ack_seconds = _timed(lambda: world.click(BOB, "approve", request))
    assert world.sb.count("addGroupUserRole") == 0
    assert response.status_code == 200 and ack_seconds < 1.0  # type: ignore[attr-defined]
    world.wait_grant(request, GrantStatus.ACTIVE, timeout=10)


def test_the_slash_command_opens_the_modal_within_the_trigger_lifetime(world: Harness) -> None:
    response, ack_seconds = _timed(lambda: world.slack.command(ANN))
    assert response.status_code == 200 and ack_seconds < 1.0  # type: ignore[attr-defined]
    wait(lambda: world.sim.calls_to("views.open"))
    assert world.sim.calls_to("views.open")[0].ok  # the trigger was still good (3 s)


@pytest.mark.parametrize("level", [logging.DEBUG])
def test_no_secret_reaches_the_logs(world: Harness, caplog: pytest.LogCaptureFixture, level: int) -> None:
    # given every logger at DEBUG, a whole story with a failure or two
    caplog.set_level(level)
    world.sb.faults.fail_next(status=503, count=1, operation_id="addGroupUserRole")
    world.sim.fail_next("chat.update", status=500)
    request = world.request(ANN, "payments", [READ])
    world.click(BOB, "approve", request)
    world.wait_grant(request, GrantStatus.ACTIVE)

    # then neither the Slack token, the signing secret nor the Atlas private key appears anywhere
    logged = "\n".join(record.getMessage() + str(record.exc_info or "") for record in caplog.records)
    for secret in (TOKEN, SIGNING_SECRET, world.atlas.private_key):
        assert secret not in logged
        assert secret not in repr(world.runtime) and secret not in repr(world.runtime.gateways("prod"))

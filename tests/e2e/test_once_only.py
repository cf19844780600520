"""Stories: a request happens once. A replayed submission makes nothing new, the same request cannot be filed
twice while the first waits, and one person has at most MAX_PENDING_PER_PERSON requests waiting."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from pydantic import ValidationError

from access.model import RequestStatus
from bot.settings import Settings
from bot.slack_sim import payloads
from tests.e2e.harness import ANN, BOB, CHANNEL, DATA_READ, JUSTIFICATION, READ, Harness, wait
from tests.e2e.test_extend import active_grant, extend_modal


def signed_submission(world: Harness, user: str, view: dict[str, Any],
                      answers: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    """One view_submission as Slack signs it, to be sent as often as a replay would."""
    payload = {"type": "view_submission", **world.slack._common(user), "trigger_id": world.sim.new_trigger_id(user),
               "view": {**view, "state": {"values": payloads.state_values_for(view, answers)}}, "response_urls": []}
    body = urlencode({"payload": json.dumps(payload)}).encode()
    return body, world.slack.signed_headers(body)


def approval_posts(world: Harness) -> int:
    return len([c for c in world.sim.calls_to("chat.postMessage") if c.args.get("channel") == CHANNEL])


def settle(world: Harness) -> None:
    """Wait until the app's work after its acks has stopped calling Slack for a moment."""
    seen = -1
    while seen != len(world.sim.calls):
        seen = len(world.sim.calls)
        threading.Event().wait(0.3)


def test_a_submission_sent_three_times_makes_one_request(world: Harness) -> None:
    # given ann's filled-in modal for payments, submitted once with a valid signature
    view = world.pick(ANN, world.open_modal(ANN), "payments")
    body, headers = signed_submission(world, ANN, view, {"roles": [READ], "duration": "1h",
                                                         "justification": JUSTIFICATION})
    before, posts = world.row_count("access_request"), approval_posts(world)

    # when the same signed submission arrives three times
    responses = [world.slack.raw(body, headers) for _ in range(3)]

    # then each gets a plain ack (the modal closes), and there is one request with one approval message
    assert [(r.status_code, r.content) for r in responses] == [(200, b"")] * 3
    assert world.row_count("access_request") == before + 1
    wait(lambda: world.posted(world.latest_request_id(ANN)))
    settle(world)
    assert approval_posts(world) == posts + 1 and len(world.audit("requested")) == 1


def test_a_submission_replayed_at_the_same_moment_makes_one_request(world: Harness) -> None:
    # given ann's signed submission; when five copies arrive at once
    view = world.pick(ANN, world.open_modal(ANN), "payments")
    body, headers = signed_submission(world, ANN, view, {"roles": [READ], "duration": "1h",
                                                         "justification": JUSTIFICATION})
    before, start = world.row_count("access_request"), threading.Barrier(5)
    responses: list[httpx.Response] = []

    def send() -> None:
        with httpx.Client(timeout=10) as client:
            start.wait()
            responses.append(client.post(world.server.url + "/slack/events", content=body, headers=headers))

    threads = [threading.Thread(target=send) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then every copy is answered with a plain ack, and one request is stored
    assert sorted((r.status_code, r.content) for r in responses) == [(200, b"")] * 5
    assert world.row_count("access_request") == before + 1


def test_asking_again_for_what_is_pending_points_at_the_first_request(world: Harness) -> None:
    # given ann's pending request for read and data-read on payments
    first = world.request(ANN, "payments", [READ, DATA_READ])
    before = world.row_count("access_request")

    # when she asks for the same two roles again, in the other order, in a new modal
    view = world.pick(ANN, world.open_modal(ANN), "payments")
    response = world.submit(ANN, view, roles=[DATA_READ, READ])

    # then the modal points at the first request, and nothing is stored or sent to the approvers
    assert response.json()["errors"] == {"resource": (
        f"You already asked for this: request #{first.id} is waiting for @payments-oncall. "
        f"Cancel it with /atlas-access cancel {first.id} to ask again.")}
    assert world.row_count("access_request") == before
    assert world.audit("refused")[-1].actor == ANN

    # and other roles on the same project are another request
    assert not world.submit(ANN, view, roles=[READ]).content
    # and once the first is cancelled, the same request may be asked again
    assert world.slack.command(ANN, text=f"cancel {first.id}").status_code == 200
    wait(lambda: world.get(first.id or 0)[0].status is RequestStatus.CANCELLED)
    view = world.pick(ANN, world.open_modal(ANN), "payments")
    assert not world.submit(ANN, view, roles=[READ, DATA_READ]).content


def test_the_same_request_after_a_decision_is_a_new_request(world: Harness) -> None:
    # given ann's request for payments was denied
    first = world.request(ANN, "payments", [READ])
    world.deny(BOB, first, "Not during the freeze")
    wait(lambda: world.get(first.id or 0)[0].status is RequestStatus.DENIED)

    # when she asks for it again, then it is a new request
    second = world.request(ANN, "payments", [READ])
    assert second.id != first.id and second.status is RequestStatus.PENDING


@pytest.fixture
def capped(tmp_path: Path) -> Any:
    harness = Harness(tmp_path, max_pending_per_person=2)
    try:
        yield harness
    finally:
        harness.close()


def test_one_person_has_at_most_max_pending_per_person_requests_waiting(capped: Harness) -> None:
    world = capped
    # given ann has two requests waiting, the most MAX_PENDING_PER_PERSON=2 allows
    world.request(ANN, "payments", [READ])
    world.request(ANN, "search", [READ])
    before, posts = world.row_count("access_request"), approval_posts(world)

    # when she asks for a third
    view = world.pick(ANN, world.open_modal(ANN), "solo")
    response = world.submit(ANN, view, roles=[READ])

    # then the modal says why, and nothing is stored or sent
    assert response.json()["errors"] == {"resource": (
        "You have 2 requests waiting for a decision; 2 is the most one person may have. Cancel one "
        "(/atlas-access list shows them) or wait until one is decided, then ask again.")}
    assert world.row_count("access_request") == before and approval_posts(world) == posts

    # and an auto-approved request, which waits for nobody, is still granted
    view = world.pick(ANN, world.open_modal(ANN), "playground")
    assert not world.submit(ANN, view, roles=[READ], justification="").content


def test_a_replayed_extend_submission_asks_once(world: Harness) -> None:
    # given ann's active grant and her filled-in Extend modal
    request, _ = active_grant(world)
    view = extend_modal(world)
    body, headers = signed_submission(world, ANN, view, {"duration": "2h", "justification": "INC-4242 goes on"})
    before = world.row_count("access_request")

    # when the same signed submission arrives twice
    responses = [world.slack.raw(body, headers) for _ in range(2)]

    # then both get a plain ack, and one extension request is stored
    assert [(r.status_code, r.content) for r in responses] == [(200, b"")] * 2
    assert world.row_count("access_request") == before + 1


@pytest.mark.parametrize(("value", "valid"), [("1", True), ("100", True), ("0", False), ("101", False),
                                               ("ten", False)])
def test_max_pending_per_person_is_bounded(value: str, valid: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_PENDING_PER_PERSON", value)
    if valid:
        assert Settings().max_pending_per_person == int(value)
    else:
        with pytest.raises(ValidationError):
            Settings()


def test_max_pending_per_person_defaults_to_ten(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAX_PENDING_PER_PERSON", raising=False)
    assert Settings().max_pending_per_person == 10

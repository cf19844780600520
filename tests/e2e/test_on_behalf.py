"""Stories: an admin asks for access on someone else's behalf ("For: @ann"); the access is hers, both hear how it
goes, the approvers see both names and the audit trail records both; someone who may not is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from access.model import GrantStatus
from tests.e2e.admin_harness import AdminHarness, admin_world
from tests.e2e.harness import ANN, BOB, DAN, DATA_READ, EVE, READ, wait


@pytest.fixture
def world(tmp_path: Path) -> Iterator[AdminHarness]:
    with admin_world(tmp_path) as built:
        yield built


def has_for_field(view: dict[str, object]) -> bool:
    return any(isinstance(b, dict) and b.get("block_id") == "on_behalf" for b in view.get("blocks") or [])  # type: ignore[union-attr]


def test_an_admin_asks_for_someone_else_and_both_hear_how_it_goes(world: AdminHarness) -> None:
    # given dan (an admin) opens the request modal and picks payments: it offers "For"
    form = world.pick(DAN, world.open_modal(DAN), "payments")
    assert has_for_field(form)
    # when he asks for ann
    answer = world.slack.submit(DAN, form, {
        "roles": [READ], "duration": "1h", "duration_custom": None,
        "justification": "INC-9: ann is on the bridge and needs the logs", "on_behalf": ANN})
    assert answer.status_code == 200 and not answer.content, answer.text
    request = wait(lambda: world.posted(world.latest_request_id(ANN)))
    assert (request.requester_id, request.requested_by) == (ANN, DAN)

    # then the approvers see both names, and both are told
    text = world.message_text(request)
    assert f"<@{DAN}> on behalf of <@{ANN}> asks for" in text
    wait(lambda: any(f"<@{DAN}> asked for this access on your behalf" in t for t in world.dm_texts(ANN)))
    wait(lambda: any(f"on behalf of <@{ANN}>" in t and "sent" in t for t in world.dm_texts(DAN)))
    requested = world.audit("requested")[0]
    assert (requested.actor, requested.detail["on_behalf_of"]) == (DAN, ANN)

    # when bob approves, the access is ann's, and both hear it
    world.click(BOB, "approve", request)
    grant = world.wait_grant(request, GrantStatus.ACTIVE)
    assert grant.username == "ann@example.com" and world.project_roles("payments", ANN) == {READ, DATA_READ}
    wait(lambda: any("You now have" in t for t in world.dm_texts(ANN)))
    wait(lambda: any(f"on behalf of <@{ANN}>" in t and "You now have" in t for t in world.dm_texts(DAN)))


def test_someone_who_may_not_ask_for_others_is_refused_and_oneself_is_an_ordinary_request(
    world: AdminHarness,
) -> None:
    # eve is neither an admin nor a delegate: no "For" field, and a crafted one is refused in the modal
    form = world.pick(EVE, world.open_modal(EVE), "payments")
    assert not has_for_field(form)
    crafted = world.slack.view_submission(EVE, form, {
        "roles": {"roles": {"type": "multi_static_select", "selected_options": [{"value": READ}]}},
        "duration": {"duration": {"type": "static_select", "selected_option": {"value": "1h"}}},
        "justification": {"justification": {"type": "plain_text_input", "value": "INC-9: for ann, honestly"}},
        "on_behalf": {"on_behalf": {"type": "users_select", "selected_user": ANN}}})
    assert "Only admins and the delegates" in crafted.json()["errors"]["resource"]
    assert world.row_count("access_request") == 0
    assert [e.actor for e in world.audit("refused")] == [EVE]
    # dan picking himself asks for himself, as anyone does
    form = world.pick(DAN, world.open_modal(DAN), "payments")
    answer = world.slack.submit(DAN, form, {"roles": [READ], "duration": "1h", "duration_custom": None,
                                            "justification": "INC-9: I need the logs myself", "on_behalf": DAN})
    assert answer.status_code == 200 and not answer.content
    mine = wait(lambda: world.posted(world.latest_request_id(DAN)))
    assert (mine.requester_id, mine.requested_by) == (DAN, None)

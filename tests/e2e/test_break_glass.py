"""Stories: break-glass access is granted at once, announced loudly, and reviewed by the owners afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from access.config import AccessFlowSpec
from access.model import GrantStatus, RequestStatus
from tests.e2e.harness import ANN, BOB, CAT, DATA_READ, DATA_WRITE, EVE, READ, Harness, blocks_text, wait

REVIEW = "break_glass_review"


@pytest.fixture
def glass_world(world: Harness) -> Iterator[Harness]:
    """The e2e world plus break-glass flows: data read-write on payments, and anything on a project `bunker`."""
    world.atlas.projects["bunker"] = world.sb.add_project(org_id=world.atlas.org_id, name="bunker",
                                                          tags={"owner": "payments-oncall"})
    with world.runtime.store.unit_of_work() as uow:
        for name, project in (("payments-break-glass", "payments"), ("bunker-break-glass", "bunker")):
            uow.flows.upsert(AccessFlowSpec.model_validate({
                "name": name, "integration": "prod", "resources": {"types": ["project"], "names": [project]},
                "roles": [DATA_WRITE, READ], "max_duration": "2h", "break_glass": True}))
    world.runtime.sync.run("prod")
    yield world


def buttons(world: Harness, request_id: int) -> list[str]:
    return [e["action_id"] for b in world.message(request_id)["blocks"] if b["type"] == "actions"
            for e in b["elements"]]


def test_break_glass_grants_at_once_and_the_owners_review_it_afterwards(glass_world: Harness) -> None:
    world = glass_world
    # given ann needs to write payments' data during an incident: only a break-glass flow offers that
    request = world.request(ANN, "payments", [DATA_WRITE], duration="1h")

    # then it is granted without anybody approving it
    grant = world.wait_grant(request, GrantStatus.ACTIVE)
    assert world.project_roles("payments", ANN) == {DATA_READ, DATA_WRITE}
    stored = world.get(request.id or 0)[0]
    assert stored.status is RequestStatus.APPROVED and stored.decided_by == "break_glass" and stored.break_glass
    # and the approval channel gets a loud message that mentions the owners and asks them to review
    message = world.message(request)
    text = blocks_text(message)
    assert message["blocks"][0]["type"] == "header" and "Break-glass access" in text
    assert message["text"].startswith(":rotating_light: BREAK-GLASS") and "<!subteam^S1>" in message["text"]
    assert "without approval" in text and "INC-4242" in text and "please review" in text.lower()
    assert buttons(world, request.id or 0) == [REVIEW]
    wait(lambda: "active until" in world.message_text(request))
    # and ann is told it is break-glass, with her access
    wait(lambda: any("Break-glass" in t for t in world.dm_texts(ANN)))
    wait(lambda: any("You now have" in t for t in world.dm_texts(ANN)))

    # when eve (not an owner) and ann herself click Reviewed, they are refused and the refusals are on record
    world.click(EVE, REVIEW, request)
    world.click(ANN, REVIEW, request)
    wait(lambda: any("Only the owners" in t for t in world.ephemeral_texts(EVE)))
    wait(lambda: any("your own break-glass" in t for t in world.ephemeral_texts(ANN)))
    assert buttons(world, request.id or 0) == [REVIEW]

    # when bob (an owner) reviews it
    world.click(BOB, REVIEW, request)

    # then the review is recorded, the message says who and when without the button, and ann hears of it
    text = world.wait_message(request, "Reviewed by <@U2>")
    assert buttons(world, request.id or 0) == []
    reviewed = world.get(request.id or 0)[0]
    assert reviewed.reviewed_by == BOB and reviewed.reviewed_at == world.clock.now()
    wait(lambda: any("reviewed by <@U2>" in t for t in world.dm_texts(ANN)))
    # and a later click by cat finds it done
    world.click(CAT, REVIEW, request)
    wait(lambda: any("already reviewed by <@U2>" in t for t in world.ephemeral_texts(CAT)))
    actions = [(e.actor, e.action) for e in world.audit() if e.request_id == request.id]
    assert actions[:3] == [(ANN, "requested"), (ANN, "break_glass"), ("system", "granted")]
    assert sorted(actions[3:5]) == [(ANN, "refused"), (EVE, "refused")]  # their clicks were handled side by side
    assert actions[5:] == [(BOB, "break_glass_reviewed"), (CAT, "refused")]

    # and the access still ends on time
    world.expire(timedelta(hours=1))
    assert world.project_roles("payments", ANN) == {DATA_READ}
    assert world.get(request.id or 0)[1].status is GrantStatus.REVOKED  # type: ignore[union-attr]
    assert grant.expires_at == reviewed.created_at + timedelta(hours=1)


def test_an_ordinary_flow_is_preferred_when_it_covers_the_request(glass_world: Harness) -> None:
    world = glass_world
    # given both the ordinary flow and the break-glass one offer read-only on payments
    request = world.request(ANN, "payments", [READ], duration="1h")
    # then the ordinary flow is used: the request waits for an owner, with the usual buttons
    stored = world.get(request.id or 0)[0]
    assert stored.flow == "prod-projects" and not stored.break_glass and stored.status is RequestStatus.PENDING
    assert buttons(world, request.id or 0) == ["approve", "deny"]


def test_the_form_says_the_access_is_break_glass(glass_world: Harness) -> None:
    world = glass_world
    view = world.pick(ANN, world.open_modal(ANN), "bunker")
    assert "Break-glass: granted as soon as you submit" in blocks_text(view)
    # and it cannot be taken without saying why
    response = world.submit(ANN, view, roles=[READ], duration="30m", justification="")
    assert response.json()["errors"].keys() == {"justification"}
    assert world.row_count("access_request") == 0

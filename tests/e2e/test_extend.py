"""Stories: Extend asks the same approvers for more time; approval moves the expiry (and the revocation)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from access.config import parse_duration
from access.entities import AccessRequest, Grant
from access.model import GrantStatus
from tests.e2e.harness import ANN, BOB, DATA_READ, READ, Harness, wait
from tests.e2e.test_done import home_button


def active_grant(world: Harness, duration: str = "1h") -> tuple[AccessRequest, Grant]:
    request = world.request(ANN, "payments", [READ], duration=duration)
    world.click(BOB, "approve", request)
    return request, world.wait_grant(request, GrantStatus.ACTIVE)


def extend_modal(world: Harness) -> dict[str, Any]:
    """Ann clicks Extend on her Home; the modal that opens."""
    world.slack.app_home_opened(ANN)
    home, button = home_button(world, ANN, "home_extend")
    before = world.sim.last_view(user_id=ANN, callback_id="extend_grant")
    assert world.slack.block_action(ANN, "home_extend", button["value"], view=home).status_code == 200

    def opened() -> dict[str, Any] | None:
        view = world.sim.last_view(user_id=ANN, callback_id="extend_grant")
        return view if view is not None and view != before else None

    return wait(opened)


def ask_more(world: Harness, more: str, why: str = "INC-4242 is still going on") -> Any:
    view = extend_modal(world)
    return world.slack.submit(ANN, view, {"duration": more, "justification": why})


def test_an_approved_extension_moves_the_expiry_and_the_revocation(world: Harness) -> None:
    # given ann's 1h grant on payments
    request, grant = active_grant(world)
    assert grant.expires_at is not None

    # when she asks for 2h more from her Home and bob approves it in the channel
    response = ask_more(world, "2h")
    assert response.status_code == 200 and not response.content
    extension = wait(lambda: world.posted(world.latest_request_id(ANN)))
    assert extension.id != request.id and extension.extends_grant_id == grant.id
    assert extension.approvers == request.approvers
    assert "+2 hours" in world.message_text(extension)
    world.click(BOB, "approve", extension)

    # then the grant expires 2h later, and she is told
    moved = wait(lambda: (g := world.get(request.id or 0)[1]) and g.expires_at != grant.expires_at and g)
    assert moved.expires_at == grant.expires_at + timedelta(hours=2)
    wait(lambda: any("2 hours more" in t and "approved" in t for t in world.dm_texts(ANN)))
    # and the revocation moved with it: nothing at the old expiry, revoked at the new one
    assert world.expire(timedelta(hours=1, minutes=1)) == 0
    assert world.project_roles("payments", ANN) == {READ, DATA_READ}
    world.expire(timedelta(hours=2))
    assert world.get(request.id or 0)[1].status is GrantStatus.REVOKED  # type: ignore[union-attr]
    assert world.project_roles("payments", ANN) == {DATA_READ}


def pending_extensions(world: Harness, grant: Grant) -> list[AccessRequest]:
    with world.runtime.store.unit_of_work() as uow:
        return [r for r in uow.requests.pending() if r.extends_grant_id == grant.id]


def shorten_flow(world: Harness, max_duration: str) -> None:
    """An admin changes prod-projects' max_duration (as `config apply` would)."""
    with world.runtime.store.unit_of_work() as uow:
        flow = uow.flows.get("prod-projects")
        assert flow is not None
        uow.flows.upsert(flow.model_copy(update={"max_duration": parse_duration(max_duration)}))


def test_extensions_asked_back_to_back_never_take_access_past_the_flows_maximum(world: Harness) -> None:
    # given ann's 1h grant on payments, whose flow allows 8h in all
    request, grant = active_grant(world)
    assert grant.starts_at is not None

    # when she opens Extend three times (Home, reminder, another device) and asks for 4h more in each, back to back
    views = [extend_modal(world) for _ in range(3)]
    assert len({view["id"] for view in views}) == 3
    answers = {"duration": "4h", "justification": "INC-4242 is still going on"}
    first, second, third = (world.slack.submit(ANN, view, answers) for view in views)

    # then the first is sent to the approvers, and the others are refused in the modal, pointing at it
    assert first.status_code == 200 and not first.content
    waiting = wait(lambda: world.posted(world.latest_request_id(ANN)))
    for response in (second, third):
        assert response.json()["errors"]["duration"] == (
            f"You already asked for more time on this access: request #{waiting.id} is waiting for @payments-oncall. "
            f"Cancel it with /atlas-access cancel {waiting.id} to ask again.")
    assert [r.id for r in pending_extensions(world, grant)] == [waiting.id]

    # and when bob approves every extension there is, the access lasts 5h in all, within the flow's 8h
    world.click(BOB, "approve", waiting)
    moved = wait(lambda: (g := world.get(request.id or 0)[1]) and g.expires_at != grant.expires_at and g)
    assert moved.expires_at - grant.starts_at == timedelta(hours=5)
    # and asking 4h more now is refused: 3h are left
    error = ask_more(world, "4h").json()["errors"]["duration"]
    assert "8 hours in all" in error and "180 more minutes" in error
    assert not ask_more(world, "2h").content


def test_an_extension_approved_after_the_flow_was_shortened_gets_what_is_left(world: Harness) -> None:
    # given ann's 1h grant and her pending request for 4h more
    request, grant = active_grant(world)
    assert grant.starts_at is not None and grant.expires_at is not None
    ask_more(world, "4h")
    extension = wait(lambda: world.posted(world.latest_request_id(ANN)))

    # when an admin shortens the flow to 3h in all, and bob then approves the 4h
    shorten_flow(world, "3h")
    world.click(BOB, "approve", extension)

    # then the access gets the 2h left, not 4h
    moved = wait(lambda: (g := world.get(request.id or 0)[1]) and g.expires_at != grant.expires_at and g)
    assert moved.expires_at == grant.starts_at + timedelta(hours=3)
    # and ann is told plainly, the approval message says so, and the audit trail has both figures
    wait(lambda: any("approved for 2 hours instead of 4 hours because the flow prod-projects allows 3 hours in all"
                     in t for t in world.dm_texts(ANN)))
    world.wait_message(extension, "approved for 2 hours instead of 4 hours")
    extended = world.audit("extended")[-1]
    assert (extended.detail["asked_seconds"], extended.detail["added_seconds"]) == (4 * 3600, 2 * 3600)
    # and the revocation comes at the shortened end
    world.expire(timedelta(hours=3))
    assert world.get(request.id or 0)[1].status is GrantStatus.REVOKED  # type: ignore[union-attr]

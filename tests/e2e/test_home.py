"""Stories: the App Home shows my access, my pending requests, what waits for my decision, and (admins) health."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from access.model import GrantStatus, RequestStatus
from access.policy import Requester
from tests.e2e.harness import ANN, BOB, CAT, DAN, DATA_READ, DATA_WRITE, EVE, READ, Harness, blocks_text, wait
from tests.e2e.test_done import home_button


def test_opening_the_home_shows_an_empty_state(world: Harness) -> None:
    # when eve, who never asked for anything, opens her Home
    assert world.slack.app_home_opened(EVE).status_code == 200

    # then it is published and says she has nothing, with no admin section
    text = blocks_text(wait(lambda: world.sim.home(EVE)))
    assert "no Atlas access" in text and "Nothing pending" in text and "Integration health" not in text


def test_a_pending_request_shows_on_both_homes_and_cancel_works(world: Harness) -> None:
    # given ann asked for READ on payments (bob and cat own it)
    request = world.request(ANN, "payments", [READ])

    # then her Home lists it with Cancel, and bob's Home asks for his decision, without opening anything
    home, cancel = home_button(world, ANN, "home_cancel")
    assert cancel["value"] == str(request.id)
    _, approve = home_button(world, BOB, "approve")
    assert approve["value"] == str(request.id)
    assert "Waiting for your decision" in blocks_text(world.sim.home(BOB) or {})

    # when ann cancels from her Home
    assert world.slack.block_action(ANN, "home_cancel", cancel["value"], view=home).status_code == 200

    # then the request is cancelled, the message says so, and it leaves both Homes
    wait(lambda: world.get(request.id or 0)[0].status is RequestStatus.CANCELLED)
    world.wait_message(request, "Cancelled")
    wait(lambda: "Nothing pending" in blocks_text(world.sim.home(ANN) or {}))
    wait(lambda: "Waiting for your decision" not in blocks_text(world.sim.home(BOB) or {}))


def test_an_approver_approves_from_the_home(world: Harness) -> None:
    # given ann's pending request on bob's Home
    request = world.request(ANN, "payments", [READ])
    home, approve = home_button(world, BOB, "approve")

    # when bob clicks Approve there
    assert world.slack.block_action(BOB, "approve", approve["value"], view=home).status_code == 200

    # then ann gets the access and her Home shows it with the time left and "I'm done"
    world.wait_grant(request, GrantStatus.ACTIVE)
    assert world.project_roles("payments", ANN) == {READ, DATA_READ}
    text = blocks_text(home_button(world, ANN, "home_done")[0])
    assert "payments" in text and "1 hour left" in text
    # and cat, the other approver, no longer sees it waiting
    wait(lambda: "Waiting for your decision" not in blocks_text(world.sim.home(CAT) or {}))


def test_admins_see_integration_health(tmp_path: Path) -> None:
    # given dan is an admin through @atlas-admins
    world = Harness(tmp_path, atlas_access_admins="@atlas-admins")
    try:
        # when he opens his Home
        world.slack.app_home_opened(DAN)

        # then the integration health is on it; not on ann's
        text = blocks_text(wait(lambda: world.sim.home(DAN)))
        assert "Integration health" in text and "prod" in text
        world.slack.app_home_opened(ANN)
        assert "Integration health" not in blocks_text(wait(lambda: world.sim.home(ANN)))
    finally:
        world.close()


def test_many_requests_stay_within_slacks_block_limit(tmp_path: Path) -> None:
    world = Harness(tmp_path, max_pending_per_person=12)
    try:
        many_requests_stay_within_slacks_block_limit(world)
    finally:
        world.close()


def many_requests_stay_within_slacks_block_limit(world: Harness) -> None:
    # given ann has 12 different requests pending (as many as MAX_PENDING_PER_PERSON lets her), and 12 wait for bob
    sets = ((READ,), (DATA_READ,), (READ, DATA_READ))
    asks = [(ANN, project, roles) for project in ("payments", "search") for roles in sets]
    asks += [(ANN, "ledger", roles) for roles in sets[:2]] + [(ANN, "vault", roles) for roles in (*sets, (DATA_WRITE,))]
    asks += [(EVE, "payments", roles) for roles in sets] + [(EVE, "vault", roles) for roles in sets[:2]]
    for user, project, roles in asks:
        world.runtime.service.submit(
            requester=Requester(user_id=user, email=f"{user}@example.com"), integration="prod",
            resource_id=world.atlas.projects[project], roles=roles, duration=timedelta(hours=1),
            justification="INC-1: looking into it",
        )

    # when both open their Homes
    world.slack.app_home_opened(ANN)
    world.slack.app_home_opened(BOB)

    # then each Home is under 100 blocks and says how many more there are
    for user in (ANN, BOB):
        # (waited for in full: a Home published while the last requests were stored says fewer more)
        home = wait(lambda user=user: (h := world.sim.home(user)) and "…and 4 more." in blocks_text(h) and h)
        assert len(home["blocks"]) <= 100
        assert "…and 4 more." in blocks_text(home)

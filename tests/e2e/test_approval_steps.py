"""Stories: a flow approved in two steps, the project's owners then @atlas-security; the message shows the steps and
who decided each; a deny at the second step ends it. And the steps set in the flow modal, as `config show` prints."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from access.config import AccessFlowSpec
from access.model import GrantStatus, RequestStatus
from tests.e2e.admin_harness import AdminHarness, admin_world
from tests.e2e.harness import ANN, BOB, CAT, DAN, DATA_READ, EVE, READ, blocks_text, wait
from tests.e2e.test_admin_flows import cli, new_flow, open_flow_modal, submitted

__all__ = ["cli"]  # the `config show` fixture of the modal stories
STEPS = [{"approvers": "owners", "required": 1}, {"approvers": ["@atlas-security"], "required": 1}]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[AdminHarness]:
    with admin_world(tmp_path) as built:
        built.sim.add_usergroup("S9", handle="atlas-security", members=[EVE])
        with built.runtime.store.unit_of_work() as uow:
            flow = uow.flows.get("prod-projects")
            assert flow is not None
            uow.flows.upsert(AccessFlowSpec.model_validate({**flow.model_dump(), "approval_steps": STEPS}))
        yield built


def steps_text(world: AdminHarness, request_id: int) -> str:
    blocks = world.message(request_id)["blocks"]
    return blocks_text({"blocks": [b for b in blocks if b.get("block_id") == "approval-steps"]})


def test_the_owners_then_security_approve_in_turn(world: AdminHarness) -> None:
    request = world.request(ANN, "payments", [READ])
    assert "1. the resource's owners (1 needed): :hourglass_flowing_sand: waiting" in steps_text(world, request.id or 0)
    assert "2. @atlas-security (1 needed): after the step before" in steps_text(world, request.id or 0)
    # security may not go first
    world.click(EVE, "approve", request)
    wait(lambda: any("you are not one of them" in t for t in world.ephemeral_texts(EVE)))
    # the owners' step: bob approves; nothing is granted yet, and security is asked next
    world.click(BOB, "approve", request)
    wait(lambda: "approved by <@U2>" in steps_text(world, request.id or 0))
    assert ":hourglass_flowing_sand: waiting" in steps_text(world, request.id or 0).split("2.")[1]
    assert world.get(request.id or 0)[1] is None and world.get(request.id or 0)[0].approvers == (EVE,)
    assert world.slack.app_home_opened(EVE).status_code == 200
    wait(lambda: f"#{request.id}" in blocks_text(world.sim.home(EVE) or {}))
    # cat owns payments but is not security: refused at the second step
    world.click(CAT, "approve", request)
    wait(lambda: any("you are not one of them" in t for t in world.ephemeral_texts(CAT)))
    # eve approves the second step: granted
    world.click(EVE, "approve", request)
    world.wait_grant(request, GrantStatus.ACTIVE)
    assert world.project_roles("payments", ANN) == {READ, DATA_READ}
    shown = wait(lambda: (lambda t: t if "approved by <@U5>" in t else None)(steps_text(world, request.id or 0)))
    assert "approved by <@U2>" in shown
    assert [(e.actor, e.detail["step"]) for e in world.audit() if e.action in ("approval_added", "approved")] == [
        (BOB, 1), (EVE, 2)]


def test_a_deny_at_the_second_step_ends_it(world: AdminHarness) -> None:
    request = world.request(ANN, "payments", [READ])
    world.click(BOB, "approve", request)
    wait(lambda: world.get(request.id or 0)[0].approvers == (EVE,))
    assert world.deny(EVE, world.get(request.id or 0)[0], "not during the audit").status_code == 200
    wait(lambda: world.get(request.id or 0)[0].status is RequestStatus.DENIED)
    world.wait_message(request, "Denied by <@U5>")
    assert ":no_entry: denied by <@U5>" in steps_text(world, request.id or 0)
    assert world.get(request.id or 0)[1] is None and world.project_roles("payments", ANN) == {DATA_READ}


def test_steps_set_in_the_flow_modal_are_what_config_show_prints(world: AdminHarness, cli: Any) -> None:
    _, modal = open_flow_modal(world)
    bad = submitted(world, modal, new_flow(admin_flow_approval_steps="owners\n@atlas-security"))
    assert "colon and how many" in bad["errors"]["admin_flow_approval_steps"]
    assert submitted(world, modal, new_flow(admin_flow_approval_steps="owners: 1\n@atlas-security, U0IDA: 2")) == {}
    code, out, _ = cli("config", "show")
    assert code == 0
    shown = next(f for f in yaml.safe_load(out)["access_flows"] if f["name"] == "search-writers")
    assert shown["approval_steps"] == [{"approvers": "owners", "required": 1},
                                       {"approvers": ["@atlas-security", "U0IDA"], "required": 2}]
    assert DAN  # the admin who saved it (see the modal stories)

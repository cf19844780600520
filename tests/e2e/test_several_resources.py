"""Stories: several resources in one request. Ann asks for payments (owned by @payments-oncall) and search (no owner
tag: the integration owners) in one modal; two approval messages appear, one per owner group. Bob approves payments
(granted at once), dan denies search (said so, for that item), and payments ends at the request's common end. A
flow's bundle fills the modal in; a bundle or a list over the limit is refused in the modal and stores nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from access.config import AccessFlowSpec
from access.model import GrantStatus, RequestStatus
from bot.slack_sim import payloads
from tests.e2e.harness import ANN, BOB, CHANNEL, DAN, DATA_READ, JUSTIFICATION, READ, Harness, blocks_text, wait


@pytest.fixture
def world(tmp_path: Path) -> Iterator[Harness]:
    built = Harness(tmp_path)
    try:
        yield built
    finally:
        built.close()


def add_more(world: Harness, user: str, view: dict[str, Any], *names: str) -> dict[str, Any]:
    """Pick `names` under "More resources" and return the modal once it shows their roles."""
    options = []
    for name in names:
        found = world.slack.block_suggestion(user, "more_resources", name, view).json()["options"]
        options.append(next(o for o in found if f" {name} ·" in o["text"]["text"]))
    old_hash = view["hash"]
    assert world.slack.block_action(user, "more_resources", options, view=view).status_code == 200
    return wait(lambda: world._updated(view["id"], old_hash))


def block_ids(view: dict[str, Any]) -> list[str]:
    return [str(b.get("block_id")) for b in view.get("blocks") or []]


def group_of(world: Harness, user: str) -> list[Any]:
    with world.runtime.store.unit_of_work() as uow:
        latest = uow.requests.for_requester(user, limit=1)[0]
        return uow.requests.in_group(latest.group_id or "")


def test_two_owner_groups_two_messages_one_approves_the_other_denies_all_end_together(world: Harness) -> None:
    # given ann picks payments, then search under "More resources": its roles get a field of their own
    form = add_more(world, ANN, world.pick(ANN, world.open_modal(ANN), "payments"), "search")
    assert "roles@1" in block_ids(form)
    before = world.row_count("access_request")
    asked_at = world.clock.now()
    answer = world.slack.submit(ANN, form, {"roles": [READ], "roles@1": [READ, DATA_READ], "duration": "1h",
                                            "duration_custom": None, "justification": JUSTIFICATION})
    assert answer.status_code == 200 and not answer.content, answer.text
    assert world.row_count("access_request") == before + 2  # one request, two items, stored before the ack
    payments, search = wait(lambda: (lambda items: items if all(r.message_ts for r in items) else None)(
        group_of(world, ANN)))
    assert payments.resource_name == "payments" and search.resource_name == "search"
    assert payments.ends_at == search.ends_at == asked_at + timedelta(hours=1)

    # then two approval messages, one per owner group, each listing its own item
    assert payments.message_ts != search.message_ts and payments.channel == search.channel == CHANNEL
    payments_text, search_text = world.message_text(payments), world.message_text(search)
    assert "several resources in one request" in payments_text and "payments" in payments_text
    assert "search" not in payments_text.replace("Type to search", "")
    assert "search" in search_text and f"request #{search.id}" in search_text
    assert "@payments-oncall" in payments_text or "<!subteam^S1>" in payments_text
    # and ann hears once, with both items named
    dm = wait(lambda: next((t for t in world.dm_texts(ANN) if "2 resources" in t), None))
    assert f"#{payments.id}" in dm and f"#{search.id}" in dm and "ends together" in dm

    # when bob approves payments, it is granted at once, and ends at the common end
    world.click(BOB, "approve", payments)
    grant = world.wait_grant(payments, GrantStatus.ACTIVE)
    assert grant.expires_at == payments.ends_at
    assert READ in world.project_roles("payments", ANN)
    world.wait_message(payments, "active")
    assert world.get(search.id or 0)[0].status is RequestStatus.PENDING

    # when dan denies search, that item is denied, and said so for that item
    world.clock.advance(timedelta(minutes=20))
    assert world.deny(DAN, search, "search is not needed for INC-4242").status_code == 200
    wait(lambda: world.get(search.id or 0)[0].status is RequestStatus.DENIED)
    world.wait_message(search, "denied")
    wait(lambda: any("One item of your request of several resources" in t and "denied" in t and "search" in t
                     for t in world.dm_texts(ANN)))
    assert world.project_roles("search", ANN) == set()
    assert world.get(payments.id or 0)[1].status is GrantStatus.ACTIVE  # type: ignore[union-attr]
    # with every item decided, one DM names each item's outcome
    summary = wait(lambda: next((t for t in world.dm_texts(ANN) if "Every item" in t), None))
    assert "1 of 2 approved" in summary and "search is not needed" in summary

    # and the granted item ends at the common end: the hour counted from the ask, not from bob's click
    world.expire(timedelta(minutes=40))
    assert world.wait_grant(payments, GrantStatus.REVOKED).revoked_at is not None
    assert world.project_roles("payments", ANN) == {DATA_READ}  # her baseline, kept


def test_a_bundle_fills_the_modal_and_makes_one_request(world: Harness) -> None:
    with world.runtime.store.unit_of_work() as uow:
        flow = uow.flows.get("prod-projects")
        assert flow is not None
        uow.flows.upsert(AccessFlowSpec.model_validate({**flow.model_dump(), "bundles": [
            {"name": "incident-payments", "items": [{"resource": "payments", "roles": [READ]},
                                                    {"resource": "search", "roles": [READ, DATA_READ]}]}]}))
    view = world.open_modal(ANN)
    view = wait(lambda: (lambda shown: shown if shown and "bundle" in block_ids(shown) else None)(
        world.sim.views.get(view["id"])))
    option = next(o for b in view["blocks"] if b.get("block_id") == "bundle" for o in b["elements"][0]["options"])
    assert option["text"]["text"] == "incident-payments (prod-projects)"
    old_hash = view["hash"]
    assert world.slack.block_action(ANN, "bundle", option["value"], view=view).status_code == 200
    form = wait(lambda: world._updated(view["id"], old_hash))
    assert "roles@1" in block_ids(form)
    answer = world.slack.submit(ANN, form, {"duration": "1h", "duration_custom": None,
                                            "justification": JUSTIFICATION})
    assert answer.status_code == 200 and not answer.content, answer.text
    payments, search = wait(lambda: (lambda items: items if len(items) == 2 and all(r.message_ts for r in items)
                                     else None)(group_of(world, ANN)))
    assert (payments.resource_name, payments.roles) == ("payments", (READ,))
    assert (search.resource_name, set(search.roles)) == ("search", {READ, DATA_READ})


def test_an_item_no_flow_allows_is_refused_in_the_modal_and_nothing_is_stored(world: Harness) -> None:
    # each item keeps its flow's rules: too long for its flow, or no roles picked for it, is said in its field
    form = add_more(world, ANN, world.pick(ANN, world.open_modal(ANN), "payments"), "ledger")
    before = world.row_count("access_request")
    answer = world.slack.submit(ANN, form, {"roles": [READ], "roles@1": [READ], "duration": "1h",
                                            "duration_custom": "1d", "justification": JUSTIFICATION})
    errors = answer.json()["errors"]
    assert errors["duration_custom"].startswith("The longest")  # payments' own rule, checked first
    answer = world.slack.submit(ANN, form, {"roles": [READ], "roles@1": [], "duration": "1h",
                                            "duration_custom": None, "justification": JUSTIFICATION})
    assert answer.json()["errors"] == {"roles@1": "project ledger: Pick at least one role."}
    assert world.row_count("access_request") == before
    assert not [m for m in world.sim.messages(CHANNEL) if "several resources" in blocks_text(m)]


def test_more_than_ten_resources_is_refused_on_the_server_and_nothing_is_stored(world: Harness) -> None:
    # the picker stops at 9 more, but a crafted submission may list any number: the server counts them
    form = add_more(world, ANN, world.pick(ANN, world.open_modal(ANN), "payments"), "search")
    meta = json.loads(form["private_metadata"])
    extra = meta["items"][0]
    crafted = {**form, "private_metadata": json.dumps({**meta, "items": [extra] * 10})}
    values = payloads.state_values_for(form, {"roles": [READ], "roles@1": [READ], "duration": "1h",
                                              "duration_custom": None, "justification": JUSTIFICATION})
    option = values["more_resources"]["more_resources"]["selected_options"][0]
    values["more_resources"]["more_resources"]["selected_options"] = [option] * 10
    for index in range(2, 11):
        values[f"roles@{index}"] = {f"roles@{index}": {"type": "multi_static_select",
                                                       "selected_options": [{"value": READ}]}}
    before = world.row_count("access_request")
    answer = world.slack.view_submission(ANN, crafted, values)
    assert "at most 10 resources" in answer.json()["errors"]["more_resources"]
    assert world.row_count("access_request") == before


def test_one_owner_group_one_message_and_approve_all(world: Harness) -> None:
    # payments and vault are both owned by @payments-oncall: one approval message lists both
    form = add_more(world, ANN, world.pick(ANN, world.open_modal(ANN), "payments"), "vault")
    answer = world.slack.submit(ANN, form, {"roles": [READ], "roles@1": [READ], "duration": "1h",
                                            "duration_custom": None, "justification": JUSTIFICATION})
    assert answer.status_code == 200 and not answer.content, answer.text
    payments, vault = wait(lambda: (lambda items: items if all(r.message_ts for r in items) else None)(
        group_of(world, ANN)))
    assert payments.message_ts == vault.message_ts
    assert "Approve all 2 waiting" in str(world.message(payments)["blocks"])
    assert world.click(BOB, "approve_all", payments).status_code == 200
    world.wait_grant(payments, GrantStatus.ACTIVE)
    world.wait_grant(vault, GrantStatus.ACTIVE)
    assert READ in world.project_roles("vault", ANN)

"""Several resources in one request (access.several): one group of ordinary requests, each item checked as if asked
alone (flows, roles, durations, who may ask, nobody approves their own, quorum per item's flow), all stored or none,
at most MAX_ITEMS; one approval message per owner group; each item granted as soon as approved; all ending together."""

from __future__ import annotations

from datetime import timedelta

import pytest

from access import several
from access.config import MAX_ITEMS
from access.errors import FieldErrors, NotAllowed, Replayed, RequestRefused
from access.model import GrantStatus, RequestStatus
from access.policy import Requester
from access.several import ItemAsked
from tests.fakes.notifier import Posted
from tests.usecases.world import (
    ANN,
    BOB,
    CLUSTER,
    DAN,
    DATA_READ,
    DATA_WRITE,
    PAYMENTS,
    READ,
    SEARCH,
    WHY,
    World,
    flow,
    person,
)

HOUR = timedelta(hours=1)


def items(*pairs: tuple[str, tuple[str, ...]]) -> list[ItemAsked]:
    return [ItemAsked(integration="prod", resource_id=resource, roles=roles) for resource, roles in pairs]


def ask(world: World, asked: list[ItemAsked], *, who: Requester = ANN, duration: timedelta = HOUR,
        **options: object) -> list:  # type: ignore[type-arg]
    return world.service.submit_many(requester=who, items=asked, duration=duration, justification=WHY,
                                     **options)  # type: ignore[arg-type]


BOTH = items((PAYMENTS, (READ,)), (SEARCH, (READ,)))


def test_two_owner_groups_two_messages_each_item_granted_when_approved_all_ending_together(world: World) -> None:
    start = world.clock.now()
    payments, search = ask(world, BOTH)
    # one group, two parts (payments: @payments-oncall; search: the integration owners), one common end
    assert payments.group_id == search.group_id and payments.group_id is not None
    assert (payments.group_part, search.group_part) == (0, 1)
    assert payments.ends_at == search.ends_at == start + HOUR
    assert payments.approver_group == "payments-oncall" and search.approvers == (DAN,)
    posted = world.notifier.of(Posted)
    assert [p.request_id for p in posted] == [payments.id, search.id]  # one message per owner group
    assert world.notifier.told() == ["requested"]  # one DM for the whole request
    # bob approves payments: granted at once, ending at the common end
    world.service.approve(request_id=payments.id or 0, user_id=BOB)
    granted = world.grant_of(payments.id or 0)
    assert granted.status is GrantStatus.ACTIVE and granted.expires_at == start + HOUR
    assert world.request(search.id or 0).status is RequestStatus.PENDING
    # half an hour later dan approves search: granted now, and still ends with payments
    world.clock.advance(timedelta(minutes=30))
    world.service.approve(request_id=search.id or 0, user_id=DAN)
    later = world.grant_of(search.id or 0)
    assert later.status is GrantStatus.ACTIVE and later.expires_at == start + HOUR
    # both end together
    world.expire(timedelta(minutes=30))
    assert {world.grant_of(r.id or 0).status for r in (payments, search)} == {GrantStatus.REVOKED}
    assert world.roles(ANN.email, PAYMENTS) == set() and world.roles(ANN.email, SEARCH) == set()


def test_a_denial_is_per_item(world: World) -> None:
    payments, search = ask(world, BOTH)
    world.service.deny(request_id=search.id or 0, user_id=DAN, reason="not for search")
    world.service.approve(request_id=payments.id or 0, user_id=BOB)
    assert world.request(search.id or 0).status is RequestStatus.DENIED
    assert world.grant_of(payments.id or 0).status is GrantStatus.ACTIVE
    assert "denied" in world.notifier.told(search.id)
    assert world.notifier.told().count("group_decided") == 1  # once every item is decided, one summary


def test_an_item_approved_after_the_common_end_is_refused(world: World) -> None:
    payments, _ = ask(world, BOTH)
    world.clock.advance(HOUR)
    with pytest.raises(NotAllowed, match="ends together"):
        world.service.approve(request_id=payments.id or 0, user_id=BOB)
    assert world.request(payments.id or 0).status is RequestStatus.PENDING


def test_nobody_approves_their_own_item(world: World) -> None:
    mine, _ = ask(world, BOTH, who=person(BOB))
    assert BOB not in world.request(mine.id or 0).approvers
    with pytest.raises(NotAllowed):
        world.service.approve(request_id=mine.id or 0, user_id=BOB)


def test_quorum_is_each_items_flows() -> None:
    world = World(flows=[flow(), flow("payments-write", resources={"types": ["project"], "names": ["payments"]},
                                      roles=[DATA_WRITE], approvals_required=2)])
    write, search = ask(world, items((PAYMENTS, (DATA_WRITE,)), (SEARCH, (READ,))))
    assert (write.approvals_required, search.approvals_required) == (2, 1)
    world.service.approve(request_id=write.id or 0, user_id=BOB)
    assert world.request(write.id or 0).status is RequestStatus.PENDING
    world.service.approve(request_id=search.id or 0, user_id=DAN)
    assert world.grant_of(search.id or 0).status is GrantStatus.ACTIVE


def test_a_replayed_submission_makes_nothing_new(world: World) -> None:
    first, _ = ask(world, BOTH, submission_key="V0VIEW1")
    with pytest.raises(Replayed):
        ask(world, BOTH, submission_key="V0VIEW1")
    assert len(world.requests()) == 2 and first.submission_key == "V0VIEW1"


REFUSALS = [
    # (what is asked, changes to the world, error type, key or words)
    ("too many", items(*[(PAYMENTS, (READ,))] * (MAX_ITEMS + 1)), None, FieldErrors, "resources"),
    ("twice", items((PAYMENTS, (READ,)), (PAYMENTS, (READ,))), None, FieldErrors, "resources"),
    ("role no flow offers on the second", items((PAYMENTS, (READ,)), (SEARCH, (DATA_WRITE,))), None,
     RequestRefused, "project search: No access flow offers"),
    ("longer than the second's flow", items((PAYMENTS, (READ,)), (SEARCH, (READ,))),
     [flow(resources={"types": ["project"], "names": ["payments"]}),
      flow("search", resources={"types": ["project"], "names": ["search"]}, max_duration="30m")],
     FieldErrors, "duration"),
    ("no flow lets her ask for the second", items((PAYMENTS, (READ,)), (SEARCH, (READ,))),
     [flow(resources={"types": ["project"], "names": ["payments"]}),
      flow("search", resources={"types": ["project"], "names": ["search"]}, requesters=[DAN])],
     RequestRefused, "project search: No access flow lets you"),
    ("a cluster past Atlas's 7 days", items((PAYMENTS, (READ,)), (CLUSTER, ("readAnyDatabase",))),
     [flow(), flow("clusters", resources={"types": ["cluster"]}, roles=["readAnyDatabase"], max_duration="7d")],
     FieldErrors, "duration"),
]


@pytest.mark.parametrize(("name", "asked", "flows", "error", "said"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_each_item_keeps_every_rule_and_a_refusal_stores_nothing(
    name: str, asked: list[ItemAsked], flows: list | None, error: type[Exception], said: str,  # type: ignore[type-arg]
) -> None:
    world = World(flows=flows)
    duration = timedelta(days=8) if name.startswith("a cluster") else HOUR
    with pytest.raises(error) as raised:
        ask(world, asked, duration=duration)
    if isinstance(raised.value, FieldErrors):
        assert said in raised.value.errors
        if name.startswith("longer"):
            assert raised.value.errors["duration"].startswith("project search:")
    else:
        assert said in str(raised.value.reason)  # type: ignore[attr-defined]
    assert world.requests() == [] and world.notifier.of(Posted) == []


def test_the_second_items_roles_are_keyed_for_its_field() -> None:
    world = World()
    with pytest.raises(FieldErrors) as raised:
        ask(world, items((PAYMENTS, (READ,)), (SEARCH, ())))
    assert raised.value.errors == {"roles@1": "project search: Pick at least one role."}
    assert world.requests() == []


def test_emergency_is_for_one_resource_at_a_time(world: World) -> None:
    with pytest.raises(FieldErrors) as raised:
        ask(world, BOTH, emergency=True)
    assert "emergency" in raised.value.errors and world.requests() == []


def test_nobody_else_to_approve_one_item_refuses_the_whole_request(world: World) -> None:
    # dan asks: search's approvers are the integration owners, that is dan alone
    with pytest.raises(RequestRefused, match="project search: Nobody else can approve"):
        ask(world, BOTH, who=person(DAN))
    assert world.requests() == []


def test_items_of_one_owner_group_share_a_message_and_approve_all_approves_each() -> None:
    world = World(flows=[flow(), flow("clusters", resources={"types": ["cluster"]}, roles=["readAnyDatabase"],
                                      max_duration="1d")])
    project, cluster = ask(world, items((PAYMENTS, (READ,)), (CLUSTER, ("readAnyDatabase",))))
    assert (project.group_part, cluster.group_part) == (0, 0)  # both owned by @payments-oncall: one message
    assert len(world.notifier.of(Posted)) == 1
    outcomes = world.service.approve_all(request_id=cluster.id or 0, user_id=BOB)
    assert [(r.id, e) for r, e in outcomes] == [(project.id, None), (cluster.id, None)]
    assert {world.request(r.id or 0).status for r in (project, cluster)} == {RequestStatus.APPROVED}
    # the requester may not, for any item
    assert all(isinstance(e, NotAllowed) for _, e in world.service.approve_all(request_id=project.id or 0,
                                                                                user_id=ANN.user_id)) is True


def bundled(*resources: tuple[str, list[str]]) -> World:
    return World(flows=[flow(bundles=[{"name": "incident", "items": [{"resource": name, "roles": roles}
                                                                      for name, roles in resources]}])])


def test_a_bundle_becomes_items_with_the_inventory_s_ids() -> None:
    world = bundled(("payments", [READ]), ("search", [READ, DATA_READ]))
    assert world.service.bundles(requester=ANN) == [("prod-projects", "incident")]
    assert world.service.bundle_items(requester=ANN, flow="prod-projects", bundle="incident") == items(
        (PAYMENTS, (READ,)), (SEARCH, (READ, DATA_READ)))


@pytest.mark.parametrize(("resources", "flow_name", "bundle", "said"), [
    ([("payments", [READ]), ("ghost-project", [READ])], "prod-projects", "incident", "names ghost-project"),
    ([("payments", [READ])], "prod-projects", "gone", "not offered"),
    ([("payments", [READ])], "no-such-flow", "incident", "not offered"),
])
def test_a_bundle_the_inventory_or_the_flows_no_longer_hold_is_refused(
    resources: list[tuple[str, list[str]]], flow_name: str, bundle: str, said: str
) -> None:
    world = bundled(*resources)
    with pytest.raises(RequestRefused, match=said):
        world.service.bundle_items(requester=ANN, flow=flow_name, bundle=bundle)


def test_the_last_item_left_undecided_expires_and_the_summary_still_comes_once(world: World) -> None:
    payments, search = ask(world, BOTH)
    world.service.approve(request_id=payments.id or 0, user_id=BOB)
    assert "group_decided" not in world.notifier.told()  # search still waits
    # nobody decides search: the pending-request timeouts expire it, and that closes the group
    world.clock.advance(timedelta(days=8))
    world.timeouts.run()
    assert world.request(search.id or 0).status is RequestStatus.EXPIRED
    assert world.notifier.told().count("group_decided") == 1
    world.timeouts.run()
    assert world.notifier.told().count("group_decided") == 1


def test_the_summary_is_claimed_once_whoever_else_sees_every_item_decided(world: World) -> None:
    payments, search = ask(world, BOTH)
    world.service.deny(request_id=search.id or 0, user_id=DAN, reason="not for search")
    world.service.approve(request_id=payments.id or 0, user_id=BOB)
    assert world.notifier.told().count("group_decided") == 1
    # a second decider's thread (or replica) that also saw every item decided finds the group told
    assert several.claim_summary(world.store, world.request(search.id or 0), now=world.clock.now()) is None
    head = world.request(payments.id or 0)
    assert head.group_told_at == world.clock.now()

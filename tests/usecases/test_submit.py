"""Submitting a request: which flow takes it, who approves it, what is refused and why, what is recorded and told.

Given the world of tests/usecases/world.py (payments owned by @payments-oncall, search by nobody, dan the
integration owner), when ann submits, then the stored request, the audit trail, Atlas and the notifications
say what happened.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from access.errors import FieldErrors, NotFound, Replayed, RequestRefused
from access.model import GrantStatus, RequestStatus
from access.policy import Requester
from tests.fakes.notifier import Posted
from tests.usecases.world import (
    ANN,
    BOB,
    CLUSTER,
    CLUSTER_FLOW,
    CYD,
    DAN,
    DATA_READ,
    DATA_WRITE,
    GLASS_FLOW,
    ORG_FLOW,
    ORG_ID,
    PAYMENTS,
    READ,
    SEARCH,
    WHY,
    World,
    flow,
    person,
)

H = timedelta(hours=1)


@dataclass(frozen=True)
class Accepted:
    name: str
    flows: list[dict[str, Any]]
    resource: str = PAYMENTS
    roles: tuple[str, ...] = (READ,)
    duration: timedelta = H
    justification: str = WHY
    emergency: bool = False
    who: Requester = ANN
    status: RequestStatus = RequestStatus.PENDING
    flow: str = "prod-projects"
    approvers: tuple[str, ...] = (BOB, CYD)
    group: str | None = "payments-oncall"
    actions: tuple[str, ...] = ("requested",)
    grant: GrantStatus | None = None  # the grant's status once submit returns
    told: tuple[str, ...] = ("requested",)


PROJECTS: dict[str, Any] = {}  # the default flow: projects, READ and DATA_READ, 8h, owners
ACCEPTED = [
    Accepted("an owners flow waits for the project's owner group", [PROJECTS]),
    Accepted("a project without an owner tag goes to the integration owners", [PROJECTS], resource=SEARCH,
             approvers=(DAN,), group=None),
    Accepted("the organization goes to the integration owners", [ORG_FLOW], resource=ORG_ID,
             roles=("ORG_READ_ONLY",), flow="prod-org", approvers=(DAN,), group=None),
    Accepted("a cluster follows its project's owner tag", [CLUSTER_FLOW], resource=CLUSTER, roles=("read@orders",),
             flow="prod-clusters"),
    Accepted("an auto flow grants at once", [{"approval": "auto"}], status=RequestStatus.APPROVED,
             actions=("requested", "approved", "granted"), grant=GrantStatus.ACTIVE,
             told=("requested", "granted")),
    Accepted("auto approval is preferred when two flows cover the request",
             [PROJECTS, {"name": "prod-auto", "approval": "auto", "roles": [READ]}], flow="prod-auto",
             status=RequestStatus.APPROVED, actions=("requested", "approved", "granted"), grant=GrantStatus.ACTIVE,
             told=("requested", "granted")),
    Accepted("the flow that covers every role asked for is taken",
             [PROJECTS, {"name": "prod-write", "roles": [DATA_WRITE], "approvals_required": 2}],
             roles=(DATA_WRITE,), flow="prod-write"),
    Accepted("an emergency takes the break-glass flow and is granted at once", [PROJECTS, GLASS_FLOW],
             roles=(DATA_WRITE,), emergency=True, flow="prod-glass", status=RequestStatus.APPROVED,
             actions=("requested", "break_glass", "granted"), grant=GrantStatus.ACTIVE, told=("requested", "granted")),
    Accepted("without the emergency box the ordinary flow is taken", [PROJECTS, GLASS_FLOW]),
    Accepted("an optional justification may be left out", [{"justification": "optional"}], justification=""),
    Accepted("a requester named by group may ask", [{"requesters": ["@payments-oncall"]}], who=person(BOB),
             approvers=(CYD,)),
    Accepted("a requester named by email may ask", [{"requesters": ["ann@example.com"]}]),
    Accepted("a requester named by user id may ask", [{"requesters": ["U0ANN"]}]),
    Accepted("the longest duration the flow allows", [PROJECTS], duration=timedelta(hours=8)),
    Accepted("an owner asking is not among the approvers", [PROJECTS], who=person(CYD), approvers=(BOB,)),
]


@pytest.mark.parametrize("case", ACCEPTED, ids=lambda c: c.name)
def test_an_accepted_request(case: Accepted) -> None:
    # given the flows of the case
    world = World(flows=[flow(**f) for f in case.flows])
    # when the request is submitted
    request = world.submit(case.who, case.resource, case.roles, case.duration, case.justification,
                           emergency=case.emergency)
    # then it is stored as the flow says, with its approvers, audit rows, grant and messages
    stored = world.request(request.id or 0)
    assert (stored.status, stored.flow, stored.approvers, stored.approver_group) == (
        case.status, case.flow, case.approvers, case.group)
    assert (stored.roles, stored.duration_seconds, stored.justification) == (
        case.roles, int(case.duration.total_seconds()), case.justification)
    assert stored.channel == "C0APPROVALS" and stored.message_ts is not None
    assert tuple(world.actions(request.id)) == case.actions
    grants = [g for g in world.grants() if g.request_id == request.id]
    assert [g.status for g in grants] == ([case.grant] if case.grant else [])
    assert tuple(world.notifier.told(request.id)) == case.told
    assert [p.request_id for p in world.notifier.posts()] == [request.id]


@dataclass(frozen=True)
class Refused:
    name: str
    error: type[Exception]
    words: str
    flows: list[dict[str, Any]] = field(default_factory=lambda: [PROJECTS])
    resource: str = PAYMENTS
    roles: tuple[str, ...] = (READ,)
    duration: timedelta = H
    justification: str = WHY
    emergency: bool = False
    who: Requester = ANN
    field: str | None = None  # the form field a FieldErrors points at


REFUSED = [
    Refused("no roles", FieldErrors, "at least one role", field="roles", roles=()),
    Refused("a role no flow offers", RequestRefused, "No access flow offers all of those roles", roles=(DATA_WRITE,)),
    Refused("a role only break-glass offers, without the box", RequestRefused, "This is an emergency",
            flows=[PROJECTS, GLASS_FLOW], roles=(DATA_WRITE,)),
    Refused("longer than the flow allows", FieldErrors, "The longest you may ask for is 8h", field="duration",
            duration=timedelta(hours=8, minutes=1)),
    Refused("longer, with an emergency flow that would allow it", FieldErrors, "An emergency (break-glass) grant",
            field="duration", flows=[{"max_duration": "1h"}, GLASS_FLOW], duration=H * 2),
    Refused("a zero duration", FieldErrors, "longer than zero", field="duration", duration=timedelta(0)),
    Refused("a negative duration", FieldErrors, "longer than zero", field="duration", duration=-H),
    Refused("a cluster for more than 7 days", FieldErrors, "within 7 days", field="duration",
            flows=[{**CLUSTER_FLOW, "max_duration": "7d"}], resource=CLUSTER, roles=("read@orders",),
            duration=timedelta(days=7, minutes=1)),
    Refused("a justification too short", FieldErrors, "at least 10 characters", field="justification",
            justification="because"),
    Refused("a justification of blanks", FieldErrors, "at least 10 characters", field="justification",
            justification=" " * 30),
    Refused("a justification too long", FieldErrors, "Keep it to", field="justification", justification="x" * 3001),
    Refused("an emergency where no break-glass flow is", FieldErrors, "no emergency", field="emergency",
            emergency=True),
    Refused("only break-glass offered, and no emergency said", FieldErrors, "Only emergency", field="emergency",
            flows=[GLASS_FLOW]),
    Refused("a requester no flow names", RequestRefused, "No access flow lets you",
            flows=[{"requesters": ["@payments-oncall"]}]),
    Refused("a resource outside every flow's names", RequestRefused, "No access flow lets you",
            flows=[{"resources": {"types": ["project"], "names": ["pay*"]}}], resource=SEARCH),
    Refused("a resource outside the flow's tags", RequestRefused, "No access flow lets you",
            flows=[{"resources": {"types": ["project"], "tags": {"env": "staging"}}}]),
    Refused("a disabled flow", RequestRefused, "No access flow lets you", flows=[{"enabled": False}]),
    Refused("a resource not in the inventory", RequestRefused, "not in the inventory", resource="f" * 24),
    Refused("nobody else to approve", RequestRefused, "Nobody else can approve", resource=SEARCH, who=person(DAN)),
    Refused("fewer approvers than the flow needs", RequestRefused, "Nobody else can approve",
            flows=[{"approvals_required": 3}]),
]


@pytest.mark.parametrize("case", REFUSED, ids=lambda c: c.name)
def test_a_refused_request_stores_nothing_and_says_why(case: Refused) -> None:
    # given the flows of the case
    world = World(flows=[flow(**f) for f in case.flows])
    # when the request is submitted, then it is refused in words for people
    with pytest.raises(case.error, match=re.escape(case.words)) as refused:
        world.submit(case.who, case.resource, case.roles, case.duration, case.justification,
                     emergency=case.emergency)
    if case.field is not None:
        assert list(refused.value.errors) == [case.field]  # type: ignore[attr-defined]
    # and nothing was stored, posted or granted; a refusal for policy reasons is on the audit trail
    assert world.requests() == [] and world.grants() == [] and world.notifier.events == []
    assert world.actions() == (["refused"] if case.error is RequestRefused else [])
    assert world.roles() == set() and world.roles(resource=SEARCH) == set()


def test_a_refusal_is_audited_with_the_resource_and_the_reason(world: World) -> None:
    with pytest.raises(RequestRefused):
        world.submit(roles=(DATA_WRITE,))
    [event] = world.audit("refused")
    assert (event.actor, event.integration, event.detail["resource_id"]) == (ANN.user_id, "prod", PAYMENTS)
    assert "No access flow offers" in str(event.detail["reason"])


@pytest.mark.parametrize("change", ["integration disabled", "project gone from Atlas", "unknown integration"])
def test_a_resource_that_is_no_longer_requestable_is_refused(world: World, change: str) -> None:
    if change == "integration disabled":
        world.set_integration(enabled=False)
    elif change == "project gone from Atlas":
        del world.atlas.projects[PAYMENTS]
        world.sync.run("prod")
    integration = "nope" if change == "unknown integration" else "prod"
    with pytest.raises(RequestRefused, match="not in the inventory"):
        world.service.submit(requester=ANN, integration=integration, resource_id=PAYMENTS, roles=(READ,),
                             duration=H, justification=WHY)
    assert world.requests() == []


def test_the_justification_is_stored_on_one_line_as_typed(world: World) -> None:
    request = world.submit(justification="  INC-1\n<@U0BOB> *please*\t now  ")
    assert world.request(request.id or 0).justification == "INC-1 <@U0BOB> *please* now"


# --- announcing -------------------------------------------------------------------------------------------------


def test_without_announce_the_request_is_stored_and_nothing_is_said_until_announce(world: World) -> None:
    request = world.submit(announce=False)
    assert world.notifier.events == [] and world.request(request.id or 0).message_ts is None
    world.service.announce(request_id=request.id or 0)
    stored = world.request(request.id or 0)
    assert stored.message_ts is not None and world.notifier.told(request.id) == ["requested"]


def test_an_auto_approved_request_is_granted_when_announced() -> None:
    world = World(flows=[flow(approval="auto")])
    request = world.submit(announce=False)
    assert world.grant_of(request.id or 0).status is GrantStatus.GRANTING and world.roles() == set()
    world.service.announce(request_id=request.id or 0)
    assert world.grant_of(request.id or 0).status is GrantStatus.ACTIVE and world.roles() == {READ}


@pytest.mark.parametrize("raising", [False, True])
def test_when_slack_fails_the_request_is_kept_and_the_requester_not_told_it_was_sent(raising: bool) -> None:
    world = World()
    world.notifier.raising = raising
    world.notifier.fail("post_request")
    request = world.submit()
    stored = world.request(request.id or 0)
    assert stored.status is RequestStatus.PENDING and stored.message_ts is None
    assert world.notifier.told() == []  # told once it is posted, not before
    world.notifier.recover()
    world.service.announce(request_id=request.id or 0)
    assert world.request(request.id or 0).message_ts is not None and world.notifier.told() == ["requested"]


def test_the_approval_message_goes_where_the_integration_says(world: World) -> None:
    world.set_integration(approval_channel="C0OTHER")
    request = world.submit()
    [post] = world.notifier.of(Posted)
    assert post.channel == "C0OTHER" and world.request(request.id or 0).channel == "C0OTHER"


def test_unknown_request_to_announce(world: World) -> None:
    with pytest.raises(NotFound):
        world.service.announce(request_id=404)


# --- once only --------------------------------------------------------------------------------------------------


def test_a_replayed_submission_makes_nothing_new(world: World) -> None:
    first = world.submit(submission_key="V0VIEW1")
    with pytest.raises(Replayed) as replay:
        world.submit(submission_key="V0VIEW1", roles=(DATA_READ,))
    assert replay.value.request_id == first.id
    assert [r.id for r in world.requests()] == [first.id] and len(world.notifier.posts()) == 1


@pytest.mark.parametrize(("second", "twin"), [
    ((READ,), True),
    ((READ, READ), True),  # the same set of roles
    ((DATA_READ,), False),
    ((READ, DATA_READ), False),
])
def test_the_same_request_waits_only_once(world: World, second: tuple[str, ...], twin: bool) -> None:
    first = world.submit(roles=(READ,), submission_key="V0ONE")
    if twin:
        with pytest.raises(RequestRefused, match=f"request #{first.id} is waiting for @payments-oncall"):
            world.submit(roles=second, submission_key="V0TWO")
        assert len(world.requests()) == 1 and world.actions()[-1] == "refused"
    else:
        world.submit(roles=second, submission_key="V0TWO")
        assert len(world.requests()) == 2


def test_once_decided_the_same_request_may_be_asked_again(world: World) -> None:
    first = world.submit()
    world.service.cancel(request_id=first.id or 0, user_id=ANN.user_id)
    second = world.submit()
    assert second.id != first.id and world.request(second.id or 0).status is RequestStatus.PENDING


@pytest.mark.parametrize(("kind", "counted"), [("owners", True), ("auto", False), ("break-glass", False)])
def test_one_person_waits_for_at_most_max_pending_requests(kind: str, counted: bool) -> None:
    flows = [flow(roles=[READ, DATA_READ, DATA_WRITE, "GROUP_SEARCH_INDEX_EDITOR"])]
    if kind == "auto":
        flows = [flow(approval="auto", roles=[READ, DATA_READ, DATA_WRITE, "GROUP_SEARCH_INDEX_EDITOR"])]
    if kind == "break-glass":
        flows.append(flow(**{**GLASS_FLOW, "roles": [READ, DATA_READ, DATA_WRITE, "GROUP_SEARCH_INDEX_EDITOR"]}))
    world = World(flows=flows, max_pending=2)
    for roles in ((READ,), (DATA_READ,)):
        world.submit(roles=roles, emergency=kind == "break-glass")
    if counted:
        with pytest.raises(RequestRefused, match="You have 2 requests waiting"):
            world.submit(roles=(DATA_WRITE,))
        assert len(world.requests()) == 2
    else:
        world.submit(roles=(DATA_WRITE,), emergency=kind == "break-glass")
        assert len(world.requests()) == 3


def test_the_cap_counts_one_person_only() -> None:
    world = World(max_pending=1)
    world.submit()
    world.submit(person(BOB), resource=SEARCH)
    with pytest.raises(RequestRefused, match="1 request waiting"):
        world.submit(roles=(DATA_READ,))


def test_a_replay_of_an_auto_approved_request_is_a_replay() -> None:
    world = World(flows=[flow(approval="auto")])
    world.submit(submission_key="V0AUTO")
    with pytest.raises(Replayed):
        world.submit(submission_key="V0AUTO")
    assert len(world.grants()) == 1


def test_a_submission_replayed_at_the_same_moment_makes_one_request(world: World) -> None:
    outcomes: list[str] = []

    def send() -> None:
        try:
            world.submit(submission_key="V0SAME")
            outcomes.append("stored")
        except Replayed:
            outcomes.append("replay")

    threads = [threading.Thread(target=send) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["replay", "replay", "stored"] and len(world.requests()) == 1
    assert len(world.notifier.posts()) == 1

"""Property: whatever a person and the approvers do, in whatever order, an extension never takes a grant past its
flow's `max_duration` counted from when the access started, and a grant has at most one extension waiting.

Random stories drive the use cases (SelfService.extend / done, AccessService.approve / deny / cancel) on a real
SQLite store, and the invariant is checked after every step. A story is a few rounds; in each, the holder asks for
more time one or more times back to back (the issue's case), the approvers then decide some of what waits
(approve, deny) or the holder cancels it, and time passes or the holder says "I'm done". A second property lets an
admin change the flow's maximum between steps, so an extension asked within the bound may be approved past it: an
approval then never moves the expiry past the maximum as it is at that moment, by no more than was asked.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from access.entities import Grant
from access.errors import AccessError
from access.model import GrantStatus
from storage.crypto import SecretBox
from storage.engine import make_engine
from storage.migrations import create_all
from storage.store import SqlStore
from storage.testing import sqlite_url, truncate_all
from tests.access.usecase_world import ANN, OWNER, UseCaseWorld
from tests.storage import builders as b

Step = tuple[str, int]
EXAMPLES = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
# An ask is for a number of minutes, or (`ask_share`) for a share in percent of the room the grant has left now,
# as a person reading the modal's "at most N more minutes" would: each such ask passes the check made when asked.
ASK = st.one_of(st.tuples(st.just("ask"), st.sampled_from([30, 60, 120, 240, 480])),
                st.tuples(st.just("ask"), st.integers(min_value=1, max_value=12 * 60)),
                st.tuples(st.just("ask_share"), st.integers(min_value=1, max_value=100)))
PICK = st.integers(min_value=0, max_value=5)  # which waiting extension (modulo how many wait)
DECIDE = st.one_of(*[st.tuples(st.just("approve"), PICK)] * 3, st.tuples(st.just("deny"), PICK),
                   st.tuples(st.just("cancel"), PICK))
AFTER = st.one_of(st.tuples(st.just("wait"), st.integers(min_value=0, max_value=120)), st.just(("done", 0)))
ROUND = st.tuples(st.lists(ASK, min_size=1, max_size=4), st.lists(DECIDE, max_size=4), st.lists(AFTER, max_size=1))
STORY = st.lists(ROUND, min_size=1, max_size=4)
SET_MAX = st.tuples(st.just("set_max"), st.integers(min_value=1, max_value=12))  # hours


def steps_of(story: list[tuple[list[Step], list[Step], list[Step]]]) -> list[Step]:
    return [step for asks, decisions, after in story for step in (*asks, *decisions, *after)]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    made = make_engine(sqlite_url(Path(tmp_path_factory.mktemp("invariant"))))
    create_all(made)
    yield made
    made.dispose()


def fresh_world(engine: Engine) -> UseCaseWorld:
    truncate_all(engine)
    clock = b.Clock()
    return UseCaseWorld(SqlStore(engine, SecretBox(SecretBox.generate_key()), clock=clock), clock)


def act(world: UseCaseWorld, grant: Grant, step: Step) -> None:
    """One step of the holder, an approver or an admin; a refusal (in words, as the modal or an ephemeral shows
    it) is a fine outcome, anything else fails the test."""
    kind, value = step
    pending = world.pending()
    chosen = pending[value % len(pending)] if pending else None
    if kind == "ask_share":
        left = world.flow().max_duration - total(world.grant(grant.id or 0))
        kind, value = "ask", max(1, int(left.total_seconds()) // 60 * value // 100)
    try:
        if kind == "ask":
            world.selfservice.extend(grant_id=grant.id or 0, requester=ANN, duration=timedelta(minutes=value),
                                     justification="incident 42 is still going on")
        elif kind == "approve" and chosen:
            world.service.approve(request_id=chosen.id or 0, user_id=OWNER)
        elif kind == "deny" and chosen:
            world.service.deny(request_id=chosen.id or 0, user_id=OWNER, reason="hand it over")
        elif kind == "cancel" and chosen:
            world.service.cancel(request_id=chosen.id or 0, user_id=ANN.user_id)
        elif kind == "done":
            world.selfservice.done(grant_id=grant.id or 0, user_id=ANN.user_id, run=False)
        elif kind == "wait":
            world.clock.advance(value * 60)
        elif kind == "set_max":
            world.set_max_duration(timedelta(hours=value))
    except AccessError:
        pass


def total(grant: Grant) -> timedelta:
    assert grant.starts_at is not None and grant.expires_at is not None
    return grant.expires_at - grant.starts_at


@given(start=st.integers(min_value=30, max_value=8 * 60), story=STORY)
@EXAMPLES
def test_an_extended_grant_never_outlasts_its_flows_maximum(
    engine: Engine, start: int, story: list[tuple[list[Step], list[Step], list[Step]]]
) -> None:
    # given ann's grant of `start` minutes on a flow allowing 8h in all
    world = fresh_world(engine)
    grant = world.active_grant(timedelta(minutes=start))
    limit = world.flow().max_duration

    for step in steps_of(story):
        # when anyone does anything
        act(world, grant, step)
        # then the grant lasts at most the flow's maximum from its start, with at most one extension waiting
        assert total(world.grant(grant.id or 0)) <= limit, step
        assert len([r for r in world.pending() if r.extends_grant_id == grant.id]) <= 1, step


@given(story=STORY, changes=st.lists(SET_MAX, min_size=1, max_size=3), data=st.data())
@EXAMPLES
def test_an_approval_never_moves_the_expiry_past_the_maximum_as_it_is_then(
    engine: Engine, story: list[tuple[list[Step], list[Step], list[Step]]], changes: list[Step], data: st.DataObject
) -> None:
    # given ann's 1h grant, and an admin who changes the flow's maximum between some two steps
    world = fresh_world(engine)
    grant = world.active_grant()
    steps = steps_of(story)
    for change in changes:
        steps.insert(data.draw(st.integers(min_value=0, max_value=len(steps))), change)
    before = world.grant(grant.id or 0)

    for step in steps:
        act(world, grant, step)
        after = world.grant(grant.id or 0)
        assert after.expires_at is not None and before.expires_at is not None
        # then an expiry that moved later moved to within the maximum as it is now, and only while live
        if after.expires_at > before.expires_at:
            assert total(after) <= world.flow().max_duration, step
            assert after.status is GrantStatus.ACTIVE
        before = after
    # and every extension that was approved added something, never more than was asked
    with world.store.unit_of_work() as uow:
        extended = [event.detail for event in uow.audit.query() if event.action == "extended"]
    assert all(0 < int(str(d["added_seconds"])) <= int(str(d["asked_seconds"])) for d in extended)

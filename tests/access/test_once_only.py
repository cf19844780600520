"""Rules of once only: which requests are the same, what a submission key is, and that replicas receiving the same
submission (or the same request) at the same moment store it once (on PostgreSQL, where they really race)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from access import once_only
from access.errors import AccessError, Replayed, RequestRefused
from access.model import RequestStatus
from storage.crypto import SecretBox
from storage.engine import make_engine
from storage.migrations import create_all, upgrade
from storage.store import SqlStore
from storage.testing import fresh_postgres_url, require_postgres, sqlite_url
from tests.access.usecase_world import ANN, UseCaseWorld
from tests.storage import builders as b

ASK = {"requester_id": "U1", "integration": "prod", "resource_id": "g1", "roles": ("A", "B")}


@pytest.mark.parametrize(("other", "same"), [
    ({"roles": ("B", "A")}, True),  # the same set of roles, in another order
    ({"roles": ("A", "B", "A")}, True),
    ({"roles": ("A",)}, False),
    ({"requester_id": "U2"}, False),
    ({"resource_id": "g2"}, False),
    ({"integration": "staging"}, False),
])  # fmt: skip
def test_which_requests_are_the_same(other: dict[str, object], same: bool) -> None:
    assert (once_only.asking_key(**ASK) == once_only.asking_key(**{**ASK, **other})) is same  # type: ignore[arg-type]


def test_an_extension_is_the_same_as_another_of_the_same_grant_only() -> None:
    assert once_only.extending_key(7) == once_only.extending_key(7) != once_only.extending_key(8)
    assert once_only.extending_key(7) != once_only.asking_key(**ASK)  # type: ignore[arg-type]


@pytest.mark.parametrize(("view_id", "key"), [
    ("V0123ABCDEF", "V0123ABCDEF"),
    ("", None), (None, None), (12, None), ({"id": "V1"}, None),
    ("V" * 65, None),  # longer than any view id
    ("V01 23", None), ("V01'--", None), ("Vé1", None),
])  # fmt: skip
def test_a_submission_key_is_a_view_id_or_nothing(view_id: object, key: str | None) -> None:
    assert once_only.submission_key(view_id) == key


KEY = SecretBox.generate_key()  # every replica's ATLAS_ACCESS_SECRET_KEY


def world_on(url: str, clock: b.Clock, **options: Any) -> UseCaseWorld:
    return UseCaseWorld(SqlStore(make_engine(url), SecretBox(KEY), clock=clock), clock, **options)


@pytest.fixture
def sqlite_world(tmp_path: Path) -> Iterator[UseCaseWorld]:
    url = sqlite_url(tmp_path)
    engine = make_engine(url)
    create_all(engine)
    engine.dispose()
    world = world_on(url, b.Clock())
    yield world
    world.store.dispose()


def ask(world: UseCaseWorld, submission: str | None, roles: tuple[str, ...] = ("GROUP_READ_ONLY",)) -> int:
    request = world.service.submit(requester=ANN, integration="prod", resource_id=world.project.id, roles=roles,
                                   duration=timedelta(hours=1), justification="incident 42", announce=False,
                                   submission_key=submission)
    return request.id or 0


def test_a_replayed_submission_is_replayed_whatever_its_answers(sqlite_world: UseCaseWorld) -> None:
    first = ask(sqlite_world, "V0FIRST")
    with pytest.raises(Replayed) as replay:
        ask(sqlite_world, "V0FIRST", roles=("GROUP_READ_ONLY", "GROUP_DATA_ACCESS_READ_ONLY"))
    assert replay.value.request_id == first and len(sqlite_world.pending()) == 1


def test_the_cap_counts_only_requests_that_wait(sqlite_world: UseCaseWorld) -> None:
    # given ann at the cap of 1 request waiting (a replica of the world whose services allow one)
    capped = UseCaseWorld(sqlite_world.store, sqlite_world.clock, max_pending=1, seed=False)
    first = ask(capped, None)
    with pytest.raises(RequestRefused, match="1 is the most one person may have"):
        ask(capped, None, roles=("GROUP_DATA_ACCESS_READ_ONLY",))
    # when the first is cancelled, then she may ask again
    capped.service.cancel(request_id=first, user_id=ANN.user_id)
    assert ask(capped, None, roles=("GROUP_DATA_ACCESS_READ_ONLY",)) > first


@pytest.fixture
def postgres_url() -> Iterator[str]:
    require_postgres("the replica race of once only")
    with fresh_postgres_url() as url:
        upgrade(url)
        yield url


def race(url: str, count: int, action: Callable[[UseCaseWorld, int], int]) -> tuple[UseCaseWorld, list[object]]:
    """`count` replicas (each its own store and engine on one database) doing `action` at the same moment."""
    clock = b.Clock()
    seeded = world_on(url, clock)
    # The same world, each replica with its own engine: nothing shared but the database.
    replicas = [world_on(url, clock, seed=False) for _ in range(count)]
    start, outcomes = threading.Barrier(count), list[object]()

    def run(replica: UseCaseWorld, number: int) -> None:
        start.wait()
        try:
            outcomes.append(action(replica, number))
        except AccessError as error:
            outcomes.append(error)
        except Exception as error:  # noqa: BLE001 - shown in the assertion, not lost in a thread
            outcomes.append(error)

    threads = [threading.Thread(target=run, args=(replica, n)) for n, replica in enumerate(replicas)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    for replica in replicas:
        replica.store.dispose()
    return seeded, outcomes


@pytest.mark.postgres
def test_replicas_receiving_one_submission_at_once_store_one_request(postgres_url: str) -> None:
    # when six replicas receive the same submission at the same moment, a few rounds over
    for round_ in range(3):
        world, outcomes = race(postgres_url, 6, lambda replica, _: ask(replica, f"V0RACE{round_}"))
        # then one request is stored, and every other replica finds it a replay of that one
        stored = [o for o in outcomes if isinstance(o, int)]
        assert len(stored) == 1, outcomes
        assert all(isinstance(o, Replayed) and o.request_id == stored[0] for o in outcomes if o not in stored), outcomes
        world.service.cancel(request_id=stored[0], user_id=ANN.user_id)  # the next round asks the same again
        world.store.dispose()


@pytest.mark.postgres
def test_replicas_receiving_the_same_request_from_two_modals_at_once_store_one(postgres_url: str) -> None:
    # when ann's same request arrives from six modals (six view ids) on six replicas at the same moment
    world, outcomes = race(postgres_url, 6, lambda replica, n: ask(replica, f"V0MODAL{n}"))

    # then one request waits, and every other is refused with a pointer to it
    stored = [o for o in outcomes if isinstance(o, int)]
    assert len(stored) == 1, outcomes
    refusals = [o for o in outcomes if isinstance(o, RequestRefused)]
    assert len(refusals) == 5 and all(f"request #{stored[0]} is waiting" in r.reason for r in refusals)
    assert [r.status for r in world.pending()] == [RequestStatus.PENDING]
    world.store.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize(("submission", "outcome"), [("V0SAME", "replayed"), ("V0OTHER", "refused")])
def test_a_submission_that_loses_the_insert_race_is_told_what_won(postgres_url: str, submission: str,
                                                                   outcome: str) -> None:
    # given a replica that has stored ann's request from modal V0SAME and not yet committed
    world = world_on(postgres_url, b.Clock())
    stored, release, answers = threading.Event(), threading.Event(), list[object]()
    winner: list[int] = []

    def first_replica() -> None:
        with world.store.unit_of_work() as uow:
            asked = b.request(resource_id=world.project.id, roles=("GROUP_READ_ONLY",))
            winner.append(uow.requests.add(once_only.keyed(asked, submission="V0SAME", waits=True)).id or 0)
            stored.set()
            release.wait(5)

    def second_replica() -> None:
        try:
            answers.append(ask(world_on(postgres_url, world.clock, seed=False), submission))
        except AccessError as error:
            answers.append(error)

    first = threading.Thread(target=first_replica)
    first.start()
    assert stored.wait(5)
    # when the same request arrives on another replica (from the same modal, or from another one): its checks
    # see nothing yet, and its insert waits on the unique index until the first commits
    second = threading.Thread(target=second_replica)
    second.start()
    second.join(0.5)
    release.set()
    first.join(5)
    second.join(5)

    # then it is told what won: a replay of it, or the pointer to it; and one request waits
    (answer,) = answers
    if outcome == "replayed":
        assert isinstance(answer, Replayed) and answer.request_id == winner[0]
    else:
        assert isinstance(answer, RequestRefused) and f"request #{winner[0]} is waiting" in answer.reason
    assert len(world.pending()) == 1
    world.store.dispose()

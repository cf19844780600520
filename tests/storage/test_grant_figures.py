"""The grant repository's figures for the metrics: counts by status, and the revocations owed past a grace period
(how many, and how long ago the oldest expired), on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from access.model import GrantFigures, GrantStatus
from storage.store import SqlStore
from tests.storage import builders as b

G = GrantStatus
NOW = b.T0
GRACE = timedelta(seconds=60)


def ago(seconds: float) -> Any:
    return NOW - timedelta(seconds=seconds)


@dataclass(frozen=True)
class Case:
    status: GrantStatus
    expired_ago: float | None  # seconds since expires_at (negative: still to come; None: no expiry yet)
    overdue: bool


CASES = [
    Case(G.ACTIVE, 120, True),  # expired two minutes ago and still active: its revocation is owed
    Case(G.ACTIVE, 60, True),  # exactly the grace: owed
    Case(G.ACTIVE, 30, False),  # within the grace: the sweep has time yet
    Case(G.ACTIVE, -600, False),  # not expired
    Case(G.REVOKING, 600, True),  # a revocation under way for ten minutes
    Case(G.FAILED, 300, True),  # a revocation failing and retried
    Case(G.REVOKED, 3600, False),  # done
    Case(G.INVITED, 3600, False),  # an invitation withdrawn by its own step, not a revocation owed
    Case(G.GRANTING, None, False),
]


def add(store: SqlStore, cases: list[Case]) -> None:
    with store.unit_of_work() as uow:
        for case in cases:
            request = uow.requests.add(b.request())
            expires = None if case.expired_ago is None else ago(case.expired_ago)
            uow.grants.add(b.grant(request_id=request.id or 0, status=case.status, expires_at=expires))


def figures(store: SqlStore) -> GrantFigures:
    with store.unit_of_work() as uow:
        return uow.grants.figures(now=NOW, grace=GRACE)


@pytest.mark.parametrize("case", CASES, ids=[f"{c.status.value}-{c.expired_ago}" for c in CASES])
def test_one_grant_is_overdue_exactly_when_its_revocation_is_owed_past_the_grace(store: SqlStore, case: Case) -> None:
    add(store, [case])
    found = figures(store)
    assert found.overdue == int(case.overdue)
    assert found.oldest_overdue_seconds == (case.expired_ago if case.overdue else 0.0)
    assert found.by_status[case.status] == 1 and sum(found.by_status.values()) == 1


def test_the_figures_of_many_grants_count_each_and_age_the_oldest(store: SqlStore) -> None:
    add(store, CASES)
    found = figures(store)
    assert found.overdue == sum(c.overdue for c in CASES)
    assert found.oldest_overdue_seconds == 600.0
    assert found.by_status == {G.GRANTING: 1, G.INVITED: 1, G.ACTIVE: 4, G.REVOKING: 1, G.REVOKED: 1, G.FAILED: 1}
    assert found.active == 4


def test_no_grants_no_figures(store: SqlStore) -> None:
    assert figures(store) == GrantFigures(by_status=dict.fromkeys(GrantStatus, 0), overdue=0,
                                          oldest_overdue_seconds=0.0)

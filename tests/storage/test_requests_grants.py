"""Requests and grants: round trips of every field, compare-and-set saves, and the queries the domain uses."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.exc import IntegrityError

from access.entities import AccessRequest
from access.model import GrantStatus, RequestStatus
from access.ports import StaleWrite
from storage.store import SqlStore
from tests.storage import builders as b


def add_request(store: SqlStore, **changes: object) -> AccessRequest:
    with store.unit_of_work() as uow:
        return uow.requests.add(b.request(**changes))


def test_a_request_comes_back_exactly_with_utc_datetimes_tuples_and_enums(store: SqlStore) -> None:
    # given a request with every field set
    original = b.full_request()
    # when it is added and read back in another unit of work
    with store.unit_of_work() as uow:
        added = uow.requests.add(original)
    with store.unit_of_work() as uow:
        loaded = uow.requests.get(added.id or 0)
    # then it has an id and version 1, and every field survived with its type
    assert added.id is not None and added.version == 1
    assert loaded == dataclasses.replace(original, id=added.id, version=1)
    assert isinstance(loaded.roles, tuple) and isinstance(loaded.approvals, tuple)
    assert loaded.status is RequestStatus.APPROVED
    assert loaded.created_at.tzinfo is UTC and loaded.approvals[0].at.tzinfo is UTC


def test_a_grant_comes_back_exactly(store: SqlStore) -> None:
    request = add_request(store)
    original = b.full_grant(request.id or 0)
    with store.unit_of_work() as uow:
        added = uow.grants.add(original)
    with store.unit_of_work() as uow:
        by_id = uow.grants.get(added.id or 0)
        by_request = uow.grants.for_request(request.id or 0)
    assert by_id == by_request == dataclasses.replace(original, id=added.id, version=1)
    assert by_id is not None and by_id.expires_at is not None and by_id.expires_at.tzinfo is UTC
    assert by_id.status is GrantStatus.ACTIVE and isinstance(by_id.added_roles, tuple)


def test_datetimes_in_another_zone_are_stored_as_the_same_instant_in_utc(store: SqlStore) -> None:
    later = b.T0.astimezone(timezone(timedelta(hours=-5)))
    request = add_request(store, created_at=later)
    with store.unit_of_work() as uow:
        loaded = uow.requests.get(request.id or 0)
    assert loaded is not None and loaded.created_at == b.T0 and loaded.created_at.tzinfo is UTC


def test_missing_rows_read_as_none(store: SqlStore) -> None:
    with store.unit_of_work() as uow:
        assert uow.requests.get(404) is None
        assert uow.grants.get(404) is None
        assert uow.grants.for_request(404) is None


def test_save_bumps_the_version_and_a_stale_save_raises_and_changes_nothing(store: SqlStore) -> None:
    # given a stored request, read twice
    request = add_request(store)
    # when the first copy is saved
    with store.unit_of_work() as uow:
        saved = uow.requests.save(dataclasses.replace(request, status=RequestStatus.APPROVED, decided_by="U1"))
    # then the version moved on, and saving the second (stale) copy fails
    assert saved.version == 2
    with pytest.raises(StaleWrite), store.unit_of_work() as uow:
        uow.requests.save(dataclasses.replace(request, status=RequestStatus.DENIED, decided_by="U2"))
    with store.unit_of_work() as uow:
        assert uow.requests.get(request.id or 0) == saved


def test_a_stale_grant_save_raises(store: SqlStore) -> None:
    request = add_request(store)
    with store.unit_of_work() as uow:
        first = uow.grants.add(b.grant(request_id=request.id or 0))
        second = uow.grants.save(dataclasses.replace(first, attempts=1))
    with pytest.raises(StaleWrite), store.unit_of_work() as uow:
        uow.grants.save(dataclasses.replace(first, attempts=7))
    with store.unit_of_work() as uow:
        assert uow.grants.get(first.id or 0) == second


def test_saving_a_row_that_does_not_exist_is_a_stale_write(store: SqlStore) -> None:
    with pytest.raises(StaleWrite), store.unit_of_work() as uow:
        uow.requests.save(b.request(id=999, version=1))
    with pytest.raises(StaleWrite), store.unit_of_work() as uow:
        uow.requests.save(b.request())  # never added: no id


def test_a_save_is_seen_by_a_later_read_in_the_same_unit_of_work(store: SqlStore) -> None:
    with store.unit_of_work() as uow:
        request = uow.requests.add(b.request())
        uow.requests.save(dataclasses.replace(request, channel="C1", message_ts="1.2"))
        again = uow.requests.get(request.id or 0)
    assert again is not None and again.channel == "C1" and again.version == 2


def test_a_grant_needs_its_request_and_one_grant_per_request(store: SqlStore) -> None:
    with pytest.raises(IntegrityError), store.unit_of_work() as uow:
        uow.grants.add(b.grant(request_id=12345))  # foreign keys are enforced (SQLite too)
    request = add_request(store)
    with store.unit_of_work() as uow:
        uow.grants.add(b.grant(request_id=request.id or 0))
    with pytest.raises(IntegrityError), store.unit_of_work() as uow:
        uow.grants.add(b.grant(request_id=request.id or 0))


def test_requests_of_a_requester_newest_first_and_pending_oldest_first(store: SqlStore) -> None:
    with store.unit_of_work() as uow:
        ids = [uow.requests.add(b.request(created_at=b.T0 + timedelta(minutes=i))).id for i in range(3)]
        someone = uow.requests.add(b.request(requester_id="U0SOMEONE", created_at=b.T0 + timedelta(hours=1)))
        done = uow.requests.add(b.request(created_at=b.T0 - timedelta(days=1)))
        uow.requests.save(dataclasses.replace(done, status=RequestStatus.DENIED))
    with store.unit_of_work() as uow:
        mine = [r.id for r in uow.requests.for_requester("U0REQUESTER", limit=3)]
        pending = [r.id for r in uow.requests.pending()]
    assert mine == list(reversed(ids))
    assert pending == [*ids, someone.id]  # the denied one is not pending


def test_live_grants_of_a_user_on_a_resource_and_of_a_requester(store: SqlStore) -> None:
    statuses = list(GrantStatus)
    with store.unit_of_work() as uow:
        for index, status in enumerate(statuses):
            request = uow.requests.add(b.request())
            uow.grants.add(b.grant(request_id=request.id or 0, status=status,
                                   created_at=b.T0 + timedelta(minutes=index)))
        other = uow.requests.add(b.request())
        uow.grants.add(b.grant(request_id=other.id or 0, resource_id="6a0000000000000000000002",
                               status=GrantStatus.ACTIVE))
    with store.unit_of_work() as uow:
        live = uow.grants.live_for(username="ada@example.com", resource_id="6a0000000000000000000001")
        active_or_failed = uow.grants.for_requester(
            "U0REQUESTER", statuses=(GrantStatus.ACTIVE, GrantStatus.FAILED))
        counts = uow.grants.count_by_status()
    assert {g.status for g in live} == set(statuses) - {GrantStatus.REVOKED}
    # newest first: FAILED (T0+5m), ACTIVE (T0+2m), the other resource's ACTIVE (T0)
    assert [g.status for g in active_or_failed] == [GrantStatus.FAILED, GrantStatus.ACTIVE, GrantStatus.ACTIVE]
    assert active_or_failed[2].resource_id == "6a0000000000000000000002"
    assert counts == {**dict.fromkeys(GrantStatus, 1), GrantStatus.ACTIVE: 2}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    moment=st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1),
                        timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)),
                                                   timezone(timedelta(hours=-11))])),
    roles=st.lists(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ_", min_size=1, max_size=30), max_size=5),
)
def test_any_instant_and_any_roles_survive_the_trip(store: SqlStore, moment: datetime, roles: list[str]) -> None:
    original = b.request(created_at=moment, decided_at=moment, roles=tuple(roles))
    with store.unit_of_work() as uow:
        added = uow.requests.add(original)
    with store.unit_of_work() as uow:
        loaded = uow.requests.get(added.id or 0)
    assert loaded is not None and loaded.created_at == moment and loaded.created_at.tzinfo is UTC
    assert loaded.roles == tuple(roles) and loaded.decided_at == moment

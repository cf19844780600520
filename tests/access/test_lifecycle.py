"""The state machines and the revocation arithmetic, as tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from access import lifecycle
from access.entities import AccessRequest, Grant
from access.errors import AlreadyDecided, NotAllowed
from access.model import GrantStatus, RequestStatus, ResourceKind

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def request(**changes: object) -> AccessRequest:
    base: dict[str, object] = dict(
        id=1, requester_id="U0ANN", requester_email="ann@example.com", integration="prod", flow="f",
        resource_kind=ResourceKind.PROJECT, organization_id="o" * 24, resource_id="g" * 24, resource_name="payments",
        roles=("GROUP_READ_ONLY",), duration_seconds=3600, approvers=("U0BOB", "U0CAT"), created_at=NOW,
        updated_at=NOW,
    )
    base.update(changes)
    return AccessRequest(**base)  # type: ignore[arg-type]


def grant(grant_id: int, roles: tuple[str, ...], baseline: tuple[str, ...] = (), **changes: object) -> Grant:
    base: dict[str, object] = dict(
        id=grant_id, request_id=grant_id, integration="prod", resource_kind=ResourceKind.PROJECT,
        organization_id="o" * 24, resource_id="g" * 24, resource_name="payments", username="ann@example.com",
        requester_id="U0ANN", roles=roles, duration_seconds=3600, baseline_roles=baseline, status=GrantStatus.ACTIVE,
        created_at=NOW, updated_at=NOW,
    )
    base.update(changes)
    return Grant(**base)  # type: ignore[arg-type]


def test_one_approval_approves_a_one_of_n_request() -> None:
    approved = lifecycle.approve(request(), user_id="U0BOB", now=NOW)
    assert approved.status is RequestStatus.APPROVED and approved.decided_by == "U0BOB"


def test_two_of_n_needs_two_distinct_approvers() -> None:
    first = lifecycle.approve(request(approvals_required=2), user_id="U0BOB", now=NOW)
    assert first.status is RequestStatus.PENDING and len(first.approvals) == 1
    with pytest.raises(AlreadyDecided):
        lifecycle.approve(first, user_id="U0BOB", now=NOW)
    second = lifecycle.approve(first, user_id="U0CAT", now=NOW)
    assert second.status is RequestStatus.APPROVED


@pytest.mark.parametrize(("user", "start", "error"), [
    ("U0ANN", RequestStatus.PENDING, NotAllowed),  # own request
    ("U0EVE", RequestStatus.PENDING, NotAllowed),  # not an approver
    ("U0BOB", RequestStatus.APPROVED, AlreadyDecided),
    ("U0BOB", RequestStatus.DENIED, AlreadyDecided),
    ("U0BOB", RequestStatus.CANCELLED, AlreadyDecided),
    ("U0BOB", RequestStatus.EXPIRED, AlreadyDecided),
])
def test_refused_decisions(user: str, start: RequestStatus, error: type[Exception]) -> None:
    with pytest.raises(error):
        lifecycle.approve(request(status=start), user_id=user, now=NOW)
    with pytest.raises(error):
        lifecycle.deny(request(status=start), user_id=user, reason="no", now=NOW)


def test_only_the_requester_cancels() -> None:
    with pytest.raises(NotAllowed):
        lifecycle.cancel(request(), user_id="U0BOB", now=NOW)
    assert lifecycle.cancel(request(), user_id="U0ANN", now=NOW).status is RequestStatus.CANCELLED


@pytest.mark.parametrize(("start", "to", "ok"), [
    (GrantStatus.GRANTING, GrantStatus.ACTIVE, True),
    (GrantStatus.GRANTING, GrantStatus.INVITED, True),
    (GrantStatus.GRANTING, GrantStatus.REVOKED, True),  # given up before anything reached Atlas
    (GrantStatus.INVITED, GrantStatus.ACTIVE, True),
    (GrantStatus.ACTIVE, GrantStatus.REVOKING, True),
    (GrantStatus.REVOKING, GrantStatus.REVOKED, True),
    (GrantStatus.REVOKING, GrantStatus.FAILED, True),
    (GrantStatus.FAILED, GrantStatus.REVOKED, True),
    (GrantStatus.REVOKED, GrantStatus.ACTIVE, False),
    (GrantStatus.REVOKED, GrantStatus.REVOKING, False),
    (GrantStatus.ACTIVE, GrantStatus.GRANTING, False),
    (GrantStatus.REVOKING, GrantStatus.ACTIVE, False),
])
def test_grant_moves(start: GrantStatus, to: GrantStatus, ok: bool) -> None:
    subject = grant(1, ("GROUP_READ_ONLY",), status=start)
    if ok:
        assert lifecycle.move_grant(subject, to, NOW).status is to
    else:
        with pytest.raises(AlreadyDecided):
            lifecycle.move_grant(subject, to, NOW)


def test_activation_starts_the_clock_now() -> None:
    active = lifecycle.activate(grant(1, ("GROUP_READ_ONLY",), status=GrantStatus.INVITED), now=NOW)
    assert active.starts_at == NOW and active.expires_at == NOW + timedelta(hours=1)


@pytest.mark.parametrize(("mine", "baseline", "others", "removed", "remove_user"), [
    # nothing before: remove what was added, and the person
    (("GROUP_READ_ONLY",), (), [], ("GROUP_READ_ONLY",), True),
    # a role held before stays
    (("GROUP_READ_ONLY", "GROUP_OWNER"), ("GROUP_READ_ONLY",), [], ("GROUP_OWNER",), False),
    # another live grant needs the same role: keep it, keep the person
    (("GROUP_READ_ONLY",), (), [("GROUP_READ_ONLY",)], (), False),
    # another live grant on a different role: remove mine, keep the person
    (("GROUP_OWNER",), (), [("GROUP_READ_ONLY",)], ("GROUP_OWNER",), False),
    # another grant with the same role on its way out too (revoked at once elsewhere, or its revocation failing):
    # it keeps nothing, or the two would each keep the role for the other, and neither remove it
    (("GROUP_READ_ONLY",), (), [("GROUP_READ_ONLY", GrantStatus.REVOKING)], ("GROUP_READ_ONLY",), True),
    (("GROUP_READ_ONLY",), (), [("GROUP_READ_ONLY", GrantStatus.FAILED)], ("GROUP_READ_ONLY",), True),
    # one that stays still keeps it (still granting: what it holds is unknown, so it keeps its roles too)
    (("GROUP_READ_ONLY",), (), [("GROUP_READ_ONLY", GrantStatus.GRANTING)], (), False),
])
def test_what_a_revocation_removes(mine: tuple[str, ...], baseline: tuple[str, ...], others: list[tuple[object, ...]],
                                   removed: tuple[str, ...], remove_user: bool) -> None:
    subject = grant(1, mine, baseline)
    other_grants = [grant(10 + i, tuple(r for r in roles if isinstance(r, str)),
                          status=next((r for r in roles if isinstance(r, GrantStatus)), GrantStatus.ACTIVE))
                    for i, roles in enumerate(others)]
    assert lifecycle.roles_to_remove(subject, other_grants) == removed
    assert lifecycle.should_remove_user(subject, other_grants) is remove_user


@pytest.mark.parametrize(("mine", "baseline", "others", "reported", "added", "added_user"), [
    # the lost attempt added the person and the role; the retry found it done and reported nothing
    (("GROUP_READ_ONLY",), (), [], ((), False), ("GROUP_READ_ONLY",), True),
    # the retry added the rest itself: both are credited
    (("GROUP_READ_ONLY", "GROUP_OWNER"), (), [], (("GROUP_OWNER",), False), ("GROUP_OWNER", "GROUP_READ_ONLY"), True),
    # a role held before is not the grant's, nor is the person who was already there
    (("GROUP_READ_ONLY", "GROUP_OWNER"), ("GROUP_READ_ONLY",), [], ((), False), ("GROUP_OWNER",), False),
    # another live grant gives the same role and keeps the person there: not this grant's doing
    (("GROUP_READ_ONLY",), (), [("GROUP_READ_ONLY",)], ((), False), (), False),
])
def test_what_a_retried_grant_is_credited_with(mine: tuple[str, ...], baseline: tuple[str, ...],
                                               others: list[tuple[str, ...]], reported: tuple[tuple[str, ...], bool],
                                               added: tuple[str, ...], added_user: bool) -> None:
    subject = grant(1, mine, baseline)
    other_grants = [grant(10 + i, roles) for i, roles in enumerate(others)]
    credited = lifecycle.attributed(subject, added_roles=frozenset(reported[0]), added_user=reported[1],
                                    others=other_grants)
    assert credited == (added, added_user)


def test_baseline_excludes_what_other_bot_grants_added() -> None:
    other = grant(2, ("GROUP_OWNER",), ("GROUP_READ_ONLY",))
    assert lifecycle.baseline_for(frozenset({"GROUP_READ_ONLY", "GROUP_OWNER"}), [other]) == ("GROUP_READ_ONLY",)


def test_backoff_grows_and_is_capped() -> None:
    import random

    rng = random.Random(1)
    waits = [lifecycle.backoff(n, base=2, cap=60, rng=rng).total_seconds() for n in range(1, 10)]
    assert waits[0] <= 2 and max(waits) <= 60 and waits[-1] >= 30

"""The grant worker on clusters: a temporary database user per grant, with Atlas's own expiry; its sign-in is held
encrypted and shown to the requester once ("Show credentials"), never posted; not shown within 10 minutes, or the
offer undeliverable, the user is deleted."""

from __future__ import annotations

from dataclasses import fields
from datetime import timedelta

import pytest

from access.database_access import HOLD_FOR
from access.errors import NotAllowed
from access.model import GrantStatus
from access.worker import UNREVEALED_EVERY
from tests.fakes.faults import KINDS
from tests.usecases.world import ANN, BOB, CLUSTER, CLUSTER_FLOW, OPTIONS, PAYMENTS, World, flow

G = GrantStatus
H = timedelta(hours=1)


@pytest.fixture
def clusters() -> World:
    return World(flows=[flow(**{**CLUSTER_FLOW, "max_duration": "7d"})])


def database_grant(world: World, duration: timedelta = 2 * H, *, shown: bool = True) -> int:
    """A cluster grant worked by the worker; with `shown`, its requester has seen its credentials (if it is active)."""
    grant = world.approved(resource=CLUSTER, roles=("read@orders", "readAnyDatabase"), duration=duration)
    if shown and grant.status is G.ACTIVE:
        world.reveals.reveal(grant_id=grant.id or 0, user_id=ANN.user_id)
    return grant.id or 0


def test_a_cluster_grant_is_a_temporary_database_user_whose_password_reaches_only_the_requester(
        clusters: World) -> None:
    grant_id = database_grant(clusters, shown=False)
    grant = clusters.grant(grant_id)
    now = clusters.clock.now()
    assert (grant.status, grant.expires_at, grant.added_user) == (G.ACTIVE, now + 2 * H, True)
    assert grant.database_user is not None and grant.database_user.startswith(f"ann-g{grant_id}-")
    user = clusters.atlas.database_user(PAYMENTS, grant.database_user)
    assert user is not None and (user.cluster, user.delete_after) == ("payments-main", grant.expires_at)
    assert {str(r) for r in user.roles} == {"read@orders", "readAnyDatabase"}
    [sent] = clusters.notifier.credentials()  # the offer: no secret in it, shown until 10 minutes from now
    assert (sent.user_id, sent.database_user, sent.until) == (ANN.user_id, grant.database_user, now + HOLD_FOR)
    # someone else cannot see it; ann sees it once, with a connection string; the second time is refused
    with pytest.raises(NotAllowed, match="not yours"):
        clusters.reveals.reveal(grant_id=grant_id, user_id=BOB)
    shown = clusters.reveals.reveal(grant_id=grant_id, user_id=ANN.user_id)
    assert shown.username == grant.database_user and len(shown.password) == 32
    assert shown.connection_string == (f"mongodb+srv://{grant.database_user}@payments-main."
                                       f"{PAYMENTS[-5:]}.mongodb.net/?authSource=admin")
    with pytest.raises(NotAllowed, match="shown once only"):
        clusters.reveals.reveal(grant_id=grant_id, user_id=ANN.user_id)
    assert clusters.vault.held() == []
    # the password is nowhere else: not in the grant or request, the audit trail, or any message
    stored = [str(getattr(row, f.name)) for row in (*clusters.grants(), *clusters.requests()) for f in fields(row)]
    assert not any(shown.password in text for text in stored)
    assert shown.password not in str([e.detail for e in clusters.audit()])
    assert shown.password not in str(clusters.notifier.events)
    assert clusters.actions(grant.request_id)[-2:] == ["granted", "credentials_revealed"]
    # and it stays: the shown user lives until the grant's end
    clusters.expire(HOLD_FOR + timedelta(seconds=1))
    assert clusters.grant(grant_id).status is G.ACTIVE


def test_credentials_never_shown_within_ten_minutes_delete_the_user_and_tell_the_requester(clusters: World) -> None:
    grant_id = database_grant(clusters, shown=False)
    clusters.expire(HOLD_FOR - timedelta(seconds=1))
    assert clusters.grant(grant_id).status is G.ACTIVE and clusters.vault.held() == [grant_id]
    clusters.clock.advance(seconds=1)  # from now on it cannot be shown (the vault keeps to its date)...
    with pytest.raises(NotAllowed):
        clusters.reveals.reveal(grant_id=grant_id, user_id=ANN.user_id)
    clusters.expire(UNREVEALED_EVERY)  # ...and the next look for unshown sign-ins, seconds later, ends the grant
    grant = clusters.grant(grant_id)
    assert grant.status is G.REVOKED and clusters.atlas.database_users[PAYMENTS] == {}
    assert clusters.vault.held() == []
    assert clusters.actions(grant.request_id)[-2:] == ["credentials_unrevealed", "revoked"]
    assert "credentials_unrevealed" in clusters.notifier.told(grant.request_id)
    with pytest.raises(NotAllowed, match="shown once only"):
        clusters.reveals.reveal(grant_id=grant_id, user_id=ANN.user_id)


def test_ending_a_grant_early_forgets_its_unshown_credentials(clusters: World) -> None:
    grant_id = database_grant(clusters, shown=False)
    clusters.selfservice.done(grant_id=grant_id, user_id=ANN.user_id)
    assert clusters.vault.held() == [] and clusters.grant(grant_id).status is G.REVOKED


def test_undeliverable_credentials_delete_the_user_at_once(clusters: World) -> None:
    clusters.notifier.fail("offer_database_credentials")
    grant_id = database_grant(clusters)
    grant = clusters.grant(grant_id)
    assert grant.status is G.REVOKED and clusters.atlas.database_users[PAYMENTS] == {}
    assert clusters.actions(grant.request_id)[-3:] == ["granted", "credentials_undelivered", "revoked"]
    assert clusters.audit("revoked")[0].detail["reason"] == "credentials_undelivered"
    assert clusters.vault.held() == []


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_failed_creation_is_retried_under_the_same_name(clusters: World, kind: str) -> None:
    clusters.gateway.faults.fail_next(kind, method="create_database_user")
    grant_id = database_grant(clusters)
    first = clusters.grant(grant_id)
    assert first.status is G.GRANTING and first.database_user and clusters.atlas.database_users[PAYMENTS] == {}
    clusters.expire(timedelta(seconds=2))
    done = clusters.grant(grant_id)
    assert done.status is G.ACTIVE and done.database_user == first.database_user
    assert list(clusters.atlas.database_users[PAYMENTS]) == [first.database_user]
    assert len(clusters.notifier.credentials()) == 1


def test_a_creation_that_landed_without_its_answer_is_updated_not_duplicated(clusters: World) -> None:
    clusters.gateway.faults.fail_next("unreachable", method="create_database_user", landed=True)
    grant_id = database_grant(clusters)
    clusters.expire(timedelta(seconds=2))
    grant = clusters.grant(grant_id)
    assert grant.status is G.ACTIVE and list(clusters.atlas.database_users[PAYMENTS]) == [grant.database_user]


def test_the_worker_deletes_the_user_when_the_grant_ends_early(clusters: World) -> None:
    grant_id = database_grant(clusters)
    clusters.selfservice.done(grant_id=grant_id, user_id=ANN.user_id)
    assert clusters.grant(grant_id).status is G.REVOKED and clusters.atlas.database_users[PAYMENTS] == {}
    row = clusters.audit("revoked")[0]
    assert (row.detail["reason"], row.detail["removed_user"], row.detail["already_gone"]) == (
        "ended_early", True, False)


def test_at_expiry_atlas_has_deleted_the_user_itself_and_the_revocation_is_done(clusters: World) -> None:
    grant_id = database_grant(clusters)
    clusters.expire(2 * H - timedelta(seconds=1))
    assert clusters.grant(grant_id).status is G.ACTIVE and clusters.atlas.database_users[PAYMENTS] != {}
    clusters.expire(timedelta(seconds=1))
    assert clusters.grant(grant_id).status is G.REVOKED and clusters.atlas.database_users[PAYMENTS] == {}
    row = clusters.audit("revoked")[0]
    assert (row.detail["reason"], row.detail["already_gone"], row.detail["removed"]) == ("expired", True, [])


def test_a_failed_deletion_is_retried(clusters: World) -> None:
    grant_id = database_grant(clusters)
    clusters.gateway.faults.fail_next("unreachable", method="delete_database_user")
    clusters.selfservice.done(grant_id=grant_id, user_id=ANN.user_id)
    assert clusters.grant(grant_id).status is G.FAILED and clusters.atlas.database_users[PAYMENTS] != {}
    clusters.expire(timedelta(seconds=2))
    assert clusters.grant(grant_id).status is G.REVOKED and clusters.atlas.database_users[PAYMENTS] == {}


def test_a_grant_of_seven_days_keeps_a_minute_in_hand_for_atlas(clusters: World) -> None:
    grant_id = database_grant(clusters, timedelta(days=7))
    grant = clusters.grant(grant_id)
    assert grant.expires_at == clusters.clock.now() + timedelta(days=7) - timedelta(minutes=1)


def test_creating_gives_up_after_max_attempts(clusters: World) -> None:
    clusters.gateway.faults.fail_always("refused", method="create_database_user")
    grant_id = database_grant(clusters)
    for _ in range(OPTIONS.max_grant_attempts):
        clusters.expire(timedelta(seconds=OPTIONS.backoff_cap_seconds))
    assert clusters.grant(grant_id).status is G.REVOKED and clusters.notifier.credentials() == []
    assert clusters.actions()[-2:] == ["grant_failed", "revoked"]

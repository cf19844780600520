"""Cluster flows with `auth: x509`: the grant is an Atlas-managed X.509 user on $external and a certificate for the
grant's length rounded up to months, shown once like a password; the user is still deleted at expiry, and a crash
between the user and its certificate leaves nothing behind."""

from __future__ import annotations

import logging
from dataclasses import fields
from datetime import timedelta

import pytest

from access.errors import NotAllowed
from access.model import GrantStatus
from tests.usecases.test_crashes_mid_grant import LEASE, ProcessDied, ask, died
from tests.usecases.world import ANN, CLUSTER, CLUSTER_FLOW, OPTIONS, PAYMENTS, World, flow

G = GrantStatus
H = timedelta(hours=1)
X509_FLOW = {**CLUSTER_FLOW, "auth": "x509", "max_duration": "7d"}


@pytest.fixture
def x509() -> World:
    return World(flows=[flow(**X509_FLOW)])


def test_an_x509_grant_is_a_managed_user_whose_certificate_is_shown_once(
        x509: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    grant = x509.approved(resource=CLUSTER, roles=("read@orders",), duration=2 * H)
    assert grant.status is G.ACTIVE and grant.database_auth == "x509"
    user = x509.atlas.database_user(PAYMENTS, grant.database_user or "")
    assert user is not None and user.x509 and user.delete_after == grant.expires_at and user.certificates == 1
    [sent] = x509.notifier.credentials()
    assert sent.database_user == grant.database_user
    shown = x509.reveals.reveal(grant_id=grant.id or 0, user_id=ANN.user_id)
    assert shown.password is None and shown.certificate is not None and "PRIVATE KEY" in shown.certificate
    assert shown.connection_string == (f"mongodb+srv://payments-main.{PAYMENTS[-5:]}.mongodb.net/"
                                       "?authMechanism=MONGODB-X509&authSource=%24external")
    with pytest.raises(NotAllowed, match="shown once only"):
        x509.reveals.reveal(grant_id=grant.id or 0, user_id=ANN.user_id)
    granted = x509.audit("granted")[-1]
    assert granted.detail["auth"] == "x509"

    # the PEM is nowhere else: not in the grant or request rows, the audit trail, or the logs
    key = shown.certificate.split("-----BEGIN PRIVATE KEY-----")[1].split("-----")[0].strip()
    stored = [str(getattr(row, f.name)) for row in (*x509.grants(), *x509.requests()) for f in fields(row)]
    stored += [str(event) for event in x509.audit()]
    assert not any(key in text or "BEGIN CERTIFICATE" in text for text in stored)
    assert key not in caplog.text and "BEGIN CERTIFICATE" not in caplog.text

    # "I'm done" deletes the user from $external (its certificate may outlive it, signing in as nobody)
    x509.selfservice.done(grant_id=grant.id or 0, user_id=ANN.user_id)
    assert x509.grant(grant.id or 0).status is G.REVOKED
    assert x509.atlas.database_users[PAYMENTS] == {}
    assert x509.audit("revoked")[-1].detail["removed_user"] is True


def test_at_expiry_the_user_is_gone(x509: World) -> None:
    grant = x509.approved(resource=CLUSTER, roles=("read@orders",), duration=2 * H)
    x509.reveals.reveal(grant_id=grant.id or 0, user_id=ANN.user_id)
    x509.expire(2 * H)
    assert x509.grant(grant.id or 0).status is G.REVOKED and x509.atlas.database_users[PAYMENTS] == {}


def test_an_unshown_certificate_ends_the_grant_and_deletes_the_user(x509: World) -> None:
    grant = x509.approved(resource=CLUSTER, roles=("read@orders",), duration=2 * H)
    x509.expire(timedelta(minutes=10))
    assert x509.grant(grant.id or 0).status is G.REVOKED and x509.atlas.database_users[PAYMENTS] == {}
    assert x509.vault.held() == [] and "credentials_unrevealed" in x509.notifier.told()


def test_a_crash_after_the_user_before_its_certificate_is_finished_by_the_next_worker(x509: World) -> None:
    x509.gateway.faults.fail_next(died, method="create_user_certificate")  # type: ignore[arg-type]
    grant_id = ask(x509, ("read@orders",))
    half = x509.grant(grant_id)
    assert half.status is G.GRANTING and x509.vault.held() == []
    user = x509.atlas.database_user(PAYMENTS, half.database_user or "")
    assert user is not None and user.x509 and user.certificates == 0
    x509.expire(LEASE)  # the dead worker's lease runs out; another claims the grant, same user
    done = x509.grant(grant_id)
    assert done.status is G.ACTIVE and done.database_user == half.database_user
    assert list(x509.atlas.database_users[PAYMENTS]) == [done.database_user]
    assert x509.reveals.reveal(grant_id=grant_id, user_id=ANN.user_id).certificate is not None
    x509.expire(2 * H)
    assert x509.atlas.database_users[PAYMENTS] == {}


def test_a_crash_before_the_certificate_then_atlas_refusing_it_leaves_nothing_behind(x509: World) -> None:
    x509.gateway.faults.fail_next(died, method="create_user_certificate")  # type: ignore[arg-type]
    grant_id = ask(x509, ("read@orders",))
    assert x509.atlas.database_users[PAYMENTS] != {}
    x509.gateway.faults.fail_always("refused", method="create_user_certificate")
    x509.expire(LEASE)
    for _ in range(OPTIONS.max_grant_attempts):
        x509.expire(timedelta(seconds=OPTIONS.backoff_cap_seconds))
    assert x509.grant(grant_id).status is G.REVOKED and x509.notifier.credentials() == []
    assert x509.atlas.database_users[PAYMENTS] == {} and x509.vault.held() == []
    assert x509.actions()[-2:] == ["grant_failed", "revoked"]


def test_the_certificate_lasts_the_grant_rounded_up_to_months(x509: World) -> None:
    asked: list[int] = []
    real = x509.gateway.create_user_certificate

    def recording(**kwargs: object) -> str:
        asked.append(int(kwargs["months"]))  # type: ignore[call-overload]
        return real(**kwargs)  # type: ignore[arg-type]

    x509.gateway.create_user_certificate = recording  # type: ignore[method-assign]
    x509.approved(resource=CLUSTER, roles=("read@orders",), duration=timedelta(days=7))
    assert asked == [1]


def test_a_password_flow_is_unchanged() -> None:
    world = World(flows=[flow(**CLUSTER_FLOW)])
    grant = world.approved(resource=CLUSTER, roles=("read@orders",), duration=H)
    assert grant.database_auth is None
    user = world.atlas.database_user(PAYMENTS, grant.database_user or "")
    assert user is not None and not user.x509 and user.certificates == 0


def test_process_died_is_not_an_exception() -> None:
    assert not issubclass(ProcessDied, Exception)

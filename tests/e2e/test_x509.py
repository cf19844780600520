"""Story: a cluster flow with `auth: x509` — ann asks, bob approves, the Atlas sandbox gets an Atlas-managed X.509
user on $external and a certificate for it; ann's DM says a certificate is waiting, Show credentials shows the PEM
once (a second press is refused), and the user is deleted at expiry. The PEM (private key included) is nowhere
else: not in the database, the logs, the audit trail or any message."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest
from cryptography import x509

from access.config import AccessFlowSpec
from access.model import GrantStatus
from tests.e2e.harness import ANN, BOB, Harness, blocks_text, wait
from tests.e2e.test_database_users import CLUSTER, group_id, offers, show_credentials, stored_bytes


@pytest.fixture
def x509_world(world: Harness) -> Iterator[Harness]:
    group = world.atlas.projects["payments"]
    world.sb.add_cluster(group_id=group, name="orders-db")
    with world.runtime.store.unit_of_work() as uow:
        uow.flows.upsert(AccessFlowSpec.model_validate({
            "name": "payments-x509", "integration": "prod", "resources": {"types": ["cluster"],
                                                                         "names": ["payments/*"]},
            "roles": ["read@orders"], "max_duration": "7d", "auth": "x509"}))
    world.runtime.sync.run("prod")
    yield world


def pem_of(modal: dict) -> str:
    """The PEM file as ann would copy it: the code blocks of the modal, in order, joined."""
    pieces = [b["text"]["text"] for b in modal["blocks"] if b["type"] == "section"
              and b["text"]["text"].startswith("```")]
    return "\n".join(p.removeprefix("```\n").removesuffix("\n```") for p in pieces) + "\n"


def test_an_x509_user_gets_its_certificate_shown_once_and_is_deleted_at_expiry(
    x509_world: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    world = x509_world
    caplog.set_level(logging.DEBUG)
    # when ann asks for read on orders for 2 hours through the x509 flow and bob approves
    request = world.request(ANN, CLUSTER, ["read@orders"], duration="2h")
    world.click(BOB, "approve", request)
    grant = world.wait_grant(request, GrantStatus.ACTIVE)
    assert grant.database_auth == "x509"

    # then Atlas has an X.509 user on $external, no password, deleted by Atlas itself at the grant's end
    [user] = world.sb.database_users(group_id(world))
    assert (user["username"], user["databaseName"], user["x509Type"]) == (grant.database_user, "$external",
                                                                          "MANAGED")
    assert user["scopes"] == [{"name": "orders-db", "type": "CLUSTER"}] and "password" not in user
    # and its certificate was asked for one month (2 hours rounded up to Atlas's months)
    [cert_call] = [c for c in world.sb.calls if c.operation_id == "createGroupDatabaseUserCert"]
    assert cert_call.body == {"monthsUntilExpiration": 1} and cert_call.status == 201

    # and ann's DM says a certificate is waiting, with the button and no certificate in it
    [offer] = wait(lambda: offers(world))
    assert "A certificate is waiting for you" in offer["text"] and "BEGIN" not in str(offer)

    # when bob presses Show credentials he is refused; when ann does, the modal shows the PEM, once
    assert "not yours" in show_credentials(world, BOB, offer)  # type: ignore[operator]
    modal = show_credentials(world, ANN, offer)
    assert isinstance(modal, dict)
    shown = blocks_text(modal)
    assert f"Username:* `{grant.database_user}`" in shown and "$external" in shown
    assert "authMechanism=MONGODB-X509&amp;authSource=%24external" in shown
    assert all(len(b["text"]["text"]) <= 3000 for b in modal["blocks"] if b["type"] == "section")
    pem = pem_of(modal)
    certificate = x509.load_pem_x509_certificate(pem.encode())
    assert certificate.subject.rfc4514_string() == f"CN={grant.database_user}"
    assert certificate.not_valid_after_utc >= grant.expires_at  # type: ignore[operator]
    key = pem.split("-----BEGIN PRIVATE KEY-----")[1].split("-----END")[0].replace("\n", "")
    again = show_credentials(world, ANN, offer)
    assert isinstance(again, str) and "shown once only" in again

    # and the PEM is nowhere else: not in the database, any log, the audit trail or another message
    line = pem.split("\n")[1]  # a line of the certificate's base64
    for secret in (line, key[:64]):
        assert secret.encode() not in stored_bytes(world)
        assert secret not in caplog.text
        assert all(secret not in str(e.detail) for e in world.audit())
        assert all(secret not in str(m) for m in world.sim.dms(ANN))
        assert secret not in world.message_text(request)
    assert world.row_count("held_credentials") == 0

    # when the 2 hours are up, the user is gone from the sandbox and the grant is over
    world.expire(timedelta(hours=2))
    assert world.sb.database_users(group_id(world)) == []
    assert world.get(request.id or 0)[1].status is GrantStatus.REVOKED  # type: ignore[union-attr]
    assert [e.action for e in world.audit() if e.request_id == request.id] == [
        "requested", "approved", "granted", "credentials_revealed", "revoked"]


def test_an_unshown_certificate_deletes_the_x509_user(x509_world: Harness) -> None:
    world = x509_world
    request = world.request(ANN, CLUSTER, ["read@orders"], duration="2h")
    world.click(BOB, "approve", request)
    world.wait_grant(request, GrantStatus.ACTIVE)
    wait(lambda: offers(world))
    world.expire(timedelta(minutes=10))
    world.wait_grant(request, GrantStatus.REVOKED)
    assert world.sb.database_users(group_id(world)) == []
    assert any("were not shown within 10 minutes" in t for t in world.dm_texts(ANN))

"""The CredentialVault contract, on the memory fake, SQLite and PostgreSQL: held per grant, shown once to its
requester within its time, overdue ones listed for the sweep; the SQL one keeps only ciphertext."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from access.model import HeldCredentials
from access.ports import CredentialVault
from storage.crypto import SecretBox
from storage.vault import SqlCredentialVault
from tests.contracts.conftest import STORES, sql_engine
from tests.fakes import ManualClock
from tests.fakes.vault import MemoryVault

PASSWORD = "Pw" + "q7" * 15


@dataclass
class VaultWorld:
    vault: CredentialVault
    clock: ManualClock
    engine: Engine | None = None

    def held(self, grant_id: int, *, requester: str = "U1", minutes: int = 10) -> HeldCredentials:
        return HeldCredentials(grant_id=grant_id, requester_id=requester, username=f"ann-g{grant_id}-abc",
                               password=PASSWORD, connection_string="mongodb+srv://ann@x.ab1cd.mongodb.net/",
                               expires_at=self.clock.now() + timedelta(minutes=minutes))


@pytest.fixture(params=STORES)
def vault_world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VaultWorld]:
    clock = ManualClock()
    if request.param == "fake":
        yield VaultWorld(MemoryVault(), clock)
        return
    engine = sql_engine(request, tmp_path)
    yield VaultWorld(SqlCredentialVault(engine, SecretBox(SecretBox.generate_key()), clock), clock, engine)
    engine.dispose()


def test_held_credentials_are_shown_once_to_their_requester(vault_world: VaultWorld) -> None:
    vault, now = vault_world.vault, vault_world.clock.now()
    vault.hold(vault_world.held(1))
    assert vault.take(grant_id=1, requester_id="U2", now=now) is None  # someone else: nothing, and nothing lost
    shown = vault.take(grant_id=1, requester_id="U1", now=now)
    assert shown is not None and (shown.username, shown.password) == ("ann-g1-abc", PASSWORD)
    assert shown.connection_string == "mongodb+srv://ann@x.ab1cd.mongodb.net/"
    assert vault.take(grant_id=1, requester_id="U1", now=now) is None  # the second time: gone
    assert PASSWORD not in repr(shown)


def test_a_hold_replaces_the_grants_earlier_one(vault_world: VaultWorld) -> None:
    vault = vault_world.vault
    vault.hold(vault_world.held(1))
    vault.hold(HeldCredentials(**{**vault_world.held(1).__dict__, "password": "other-password-1234"}))
    shown = vault.take(grant_id=1, requester_id="U1", now=vault_world.clock.now())
    assert shown is not None and shown.password == "other-password-1234"


def test_past_their_time_they_cannot_be_shown_and_are_overdue(vault_world: VaultWorld) -> None:
    vault = vault_world.vault
    vault.hold(vault_world.held(1, minutes=10))
    vault.hold(vault_world.held(2, minutes=5))
    vault.hold(vault_world.held(3, minutes=20))
    vault_world.clock.advance(timedelta(minutes=10))
    now = vault_world.clock.now()
    assert vault.take(grant_id=1, requester_id="U1", now=now) is None
    assert vault.overdue(now=now) == [2, 1]
    vault.drop(2)
    vault.drop(1)
    vault.drop(99)  # nothing held: no error
    assert vault.overdue(now=now) == []
    assert vault.take(grant_id=3, requester_id="U1", now=now) is not None


def test_the_database_holds_only_ciphertext(vault_world: VaultWorld) -> None:
    if vault_world.engine is None:
        pytest.skip("the memory vault has no database")
    vault_world.vault.hold(vault_world.held(1))
    with vault_world.engine.connect() as connection:
        stored = " ".join(str(v) for row in connection.execute(text("SELECT * FROM held_credentials")) for v in row)
    assert PASSWORD not in stored and "ann-g1-abc" not in stored


PEM = ("-----BEGIN CERTIFICATE-----\nMIIBcertificatebits\n-----END CERTIFICATE-----\n"
       "-----BEGIN PRIVATE KEY-----\nMIIEprivatekeybits\n-----END PRIVATE KEY-----\n")


def test_an_x509_certificate_is_held_shown_once_and_stored_only_encrypted(vault_world: VaultWorld) -> None:
    vault, now = vault_world.vault, vault_world.clock.now()
    vault.hold(HeldCredentials(grant_id=1, requester_id="U1", username="ann-g1-abc", certificate=PEM,
                               connection_string="mongodb+srv://x.ab1cd.mongodb.net/?authMechanism=MONGODB-X509"
                               "&authSource=%24external", expires_at=now + timedelta(minutes=10)))
    if vault_world.engine is not None:
        with vault_world.engine.connect() as connection:
            stored = " ".join(str(v) for row in connection.execute(text("SELECT * FROM held_credentials"))
                              for v in row)
        assert "privatekeybits" not in stored and "certificatebits" not in stored and "BEGIN" not in stored
    shown = vault.take(grant_id=1, requester_id="U1", now=now)
    assert shown is not None and shown.certificate == PEM and shown.password is None
    assert "privatekeybits" not in repr(shown)
    assert vault.take(grant_id=1, requester_id="U1", now=now) is None

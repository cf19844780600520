"""The SQL `access.ports.CredentialVault`: temporary database users' sign-ins, Fernet-encrypted, deleted as read.

A sign-in is a password or, for an X.509 user, the PEM file with its certificate and private key: both only ever
inside the encrypted `secret` column, never in a column of their own.

Why the database and not memory: Slack sends the "Show credentials" click to whichever replica it reaches, and
a secret in one replica's memory could not be shown by another (nor outlive its restart, which would leave a
user nobody can sign in as until the sweep deletes it). So the secret is encrypted with ATLAS_ACCESS_SECRET_KEY
(the key every replica already has for the Atlas credentials) and kept only until it is shown once or its
10 minutes are up. `take` is one `DELETE ... RETURNING`: of two clicks at once, or a click and the sweep, one
gets the row and the other nothing. A database that is away raises StoreUnavailable (see `storage.errors`).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Engine

from access.model import HeldCredentials
from access.ports import Clock
from storage.crypto import SecretBox
from storage.errors import translated
from storage.rows import table_of
from storage.tables import HeldCredentialsRow

HELD = table_of(HeldCredentialsRow)


class SqlCredentialVault:
    def __init__(self, engine: Engine, secrets: SecretBox, clock: Clock) -> None:
        self._engine = engine
        self._secrets = secrets
        self._clock = clock

    def __repr__(self) -> str:
        return "SqlCredentialVault()"

    def hold(self, held: HeldCredentials) -> None:
        secret = self._secrets.encrypt(json.dumps({"username": held.username, "password": held.password,
                                                   "certificate": held.certificate,
                                                   "connection_string": held.connection_string}))
        with translated(), self._engine.begin() as connection:
            connection.execute(delete(HELD).where(HELD.c.grant_id == held.grant_id))
            connection.execute(insert(HELD).values(grant_id=held.grant_id, requester_id=held.requester_id,
                                                   secret=secret, expires_at=held.expires_at,
                                                   created_at=self._clock.now()))

    def take(self, *, grant_id: int, requester_id: str, now: datetime) -> HeldCredentials | None:
        taking = (delete(HELD).where(HELD.c.grant_id == grant_id, HELD.c.requester_id == requester_id,
                                     HELD.c.expires_at > now)
                  .returning(HELD.c.secret, HELD.c.expires_at))  # fmt: skip
        with translated(), self._engine.begin() as connection:
            row = connection.execute(taking).first()
        if row is None:
            return None
        data = json.loads(self._secrets.decrypt(str(row.secret)))
        return HeldCredentials(grant_id=grant_id, requester_id=requester_id, username=str(data["username"]),
                               password=data.get("password"), certificate=data.get("certificate"),
                               connection_string=data.get("connection_string"), expires_at=row.expires_at)

    def overdue(self, *, now: datetime, limit: int = 100) -> list[int]:
        query = (select(HELD.c.grant_id).where(HELD.c.expires_at <= now)
                 .order_by(HELD.c.expires_at).limit(limit))  # fmt: skip
        with translated(), self._engine.connect() as connection:
            return [int(v) for v in connection.execution_options(sqlite_begin="DEFERRED").execute(query).scalars()]

    def drop(self, grant_id: int) -> None:
        with translated(), self._engine.begin() as connection:
            connection.execute(delete(HELD).where(HELD.c.grant_id == grant_id))


if TYPE_CHECKING:
    from access.ports import CredentialVault

    def _implements_the_port(vault: SqlCredentialVault) -> CredentialVault:
        return vault

"""The SQL `access.ports.AlertLedger`: what the timer rounds told integration owners, for every replica.

`tell_once` is one insert of (round, integration, digest of the failure): the primary key lets one replica's
insert through and turns the others' into a no-op, so of two replicas meeting the same failure one tells it, and
a restarted process does not tell it again. `works_again` deletes the integration's rows of that round in one
statement. Only a digest of the failure's one-line description is kept. A database that is away raises
StoreUnavailable (see `storage.errors`); the rounds then tell the failure rather than stay silent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection

from sqlalchemy import delete, insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from access.ports import Clock
from storage.errors import translated
from storage.rows import table_of
from storage.tables import RoundAlertRow

ALERT = table_of(RoundAlertRow)


def fingerprint(failure: str) -> str:
    return hashlib.sha256(failure.encode()).hexdigest()


class SqlAlertLedger:
    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    def __repr__(self) -> str:
        return "SqlAlertLedger()"

    def tell_once(self, *, round_name: str, integration: str, failure: str) -> bool:
        row = {"round_name": round_name[:64], "integration": integration[:64], "fingerprint": fingerprint(failure),
               "told_at": self._clock.now()}
        try:
            with translated(), self._engine.begin() as connection:
                connection.execute(insert(ALERT).values(row))
        except IntegrityError:
            return False  # told already: by another replica, or by this process before a restart
        return True

    def works_again(self, *, round_name: str, integrations: Collection[str]) -> None:
        if not integrations:
            return
        names = sorted({name[:64] for name in integrations})
        with translated(), self._engine.begin() as connection:
            connection.execute(delete(ALERT).where(ALERT.c.round_name == round_name[:64],
                                                   ALERT.c.integration.in_(names)))

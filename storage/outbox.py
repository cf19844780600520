"""The Slack outbox: messages Slack refused through every retry, kept in the database until they go through.

A parcel is taken with a compare-and-set on its `due_at` (pushed a lease ahead), so of several replicas one
sends it; a replica that dies while sending leaves it to be taken again after the lease. `sent` and `again`
match the parcel's `rev` too: when the same approval message was put again meanwhile (a newer state to show),
the row stays due and the newer state is sent by the next round. It implements `access.ports.Outbox`; a database
that is away raises StoreUnavailable (see `storage.errors`).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from access.model import Parcel
from access.ports import Clock, Outbox
from storage.errors import translated
from storage.rows import table_of
from storage.tables import SlackOutboxRow

log = logging.getLogger(__name__)

OUTBOX = table_of(SlackOutboxRow)
__all__ = ["OUTBOX", "Parcel", "SqlOutbox"]  # Parcel lives in access.model now; importable from here as before


class SqlOutbox:
    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    def __repr__(self) -> str:
        return "SqlOutbox()"

    def put(self, key: str, payload: dict[str, Any]) -> None:
        """Send `payload` under `key` at the next round; a row already under `key` takes the new payload."""
        now = self._clock.now()
        refresh = (update(OUTBOX).where(OUTBOX.c.key == key)
                   .values(payload=payload, rev=OUTBOX.c.rev + 1, due_at=now))  # fmt: skip
        for _ in range(2):  # a replica inserting the same key at the same moment: update its row instead
            try:
                with translated(), self._engine.begin() as connection:
                    if connection.execute(refresh).rowcount == 0:
                        connection.execute(insert(OUTBOX).values(key=key, payload=payload, attempts=0, rev=1,
                                                                 due_at=now, created_at=now))
                return
            except IntegrityError:
                continue
        raise RuntimeError(f"could not store the outbox parcel {key}")

    def take(self, *, lease: timedelta, limit: int = 200) -> list[Parcel]:
        """The parcels due now, oldest first, each claimed for `lease` (another replica skips it meanwhile)."""
        now = self._clock.now()
        due = (select(OUTBOX).where(OUTBOX.c.due_at <= now)
               .order_by(OUTBOX.c.id).limit(limit))  # fmt: skip
        taken = []
        with translated(), self._engine.begin() as connection:
            rows = list(connection.execute(due))
            for row in rows:
                claim = (update(OUTBOX)
                         .where(OUTBOX.c.id == row.id, OUTBOX.c.due_at == row.due_at, OUTBOX.c.rev == row.rev)
                         .values(due_at=now + lease, attempts=OUTBOX.c.attempts + 1))  # fmt: skip
                if connection.execute(claim).rowcount == 1:
                    taken.append(Parcel(id=row.id, key=row.key, payload=dict(row.payload), attempts=row.attempts + 1,
                                        rev=row.rev, created_at=row.created_at))
        return taken

    def sent(self, parcel: Parcel) -> None:
        """Done with `parcel` (delivered, or given up): its row goes, unless it was put again meanwhile."""
        with translated(), self._engine.begin() as connection:
            connection.execute(delete(OUTBOX).where(OUTBOX.c.id == parcel.id, OUTBOX.c.rev == parcel.rev))

    def again(self, parcel: Parcel, *, after: timedelta) -> None:
        """Slack refused `parcel` again: due `after` from now (a row put again meanwhile is due already)."""
        with translated(), self._engine.begin() as connection:
            connection.execute(update(OUTBOX).where(OUTBOX.c.id == parcel.id, OUTBOX.c.rev == parcel.rev)
                               .values(due_at=self._clock.now() + after))

    def waiting(self) -> int:
        """How many parcels wait (for /metrics)."""
        with translated(), self._engine.connect() as connection:
            return int(connection.execution_options(sqlite_begin="DEFERRED")
                       .execute(select(func.count()).select_from(OUTBOX)).scalar_one())


if TYPE_CHECKING:

    def _implements_the_port(outbox: SqlOutbox) -> Outbox:
        return outbox  # mypy proves SqlOutbox satisfies access.ports.Outbox

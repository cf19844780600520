"""The SQL `access.ports.RateBudget`: token buckets in the database, so that every replica draws on one.

A take is one short transaction on the bucket's row: read it locked (PostgreSQL: FOR UPDATE; SQLite: the write
lock its BEGIN IMMEDIATE holds), refill it for the seconds since it was last filled, and take a token if one is
there. A bucket's first take inserts its row, full; of two replicas inserting at once one wins and the other reads
the winner's row. Time is the wall clock's (`now`), which the replicas share, not the app's clock: the limits are
the third party's, in real time.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from storage.errors import translated
from storage.rows import table_of
from storage.tables import RateBudgetRow

BUDGET = table_of(RateBudgetRow)
_READ = select(BUDGET.c.tokens, BUDGET.c.filled_at).where(BUDGET.c.name == bindparam("name")).with_for_update()
_WRITE = update(BUDGET).where(BUDGET.c.name == bindparam("key")).values(tokens=bindparam("tokens"),
                                                                         filled_at=bindparam("now"))
_ADD = insert(BUDGET).values(name=bindparam("name"), tokens=bindparam("tokens"), filled_at=bindparam("now"))


class SqlRateBudget:
    def __init__(self, engine: Engine, *, now: Callable[[], float] = time.time) -> None:
        self._engine = engine
        self._now = now

    def __repr__(self) -> str:
        return "SqlRateBudget()"

    def take(self, name: str, *, per_second: float, burst: float) -> float:
        name = name[:64]
        for _ in range(2):  # a second time when another replica inserted the bucket's row first
            try:
                with translated(), self._engine.begin() as connection:
                    now = self._now()
                    row = connection.execute(_READ, {"name": name}).first()
                    if row is None:
                        connection.execute(_ADD, {"name": name, "tokens": burst - 1, "now": now})
                        return 0.0
                    tokens = min(burst, row.tokens + max(0.0, now - row.filled_at) * per_second)
                    if tokens < 1:
                        return (1 - tokens) / per_second if per_second > 0 else 1.0
                    # Never filled back in time: a replica whose clock is behind must not hand the next one a refill.
                    connection.execute(_WRITE, {"key": name, "tokens": tokens - 1, "now": max(now, row.filled_at)})
                    return 0.0
            except IntegrityError:
                continue
        raise RuntimeError(f"the rate budget {name!r} could be neither read nor added")

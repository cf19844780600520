"""The grant ledger: an integration's grants by status, for reconciliation (`access.reconcile.GrantLedger`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Engine

from access.entities import Grant
from access.model import GrantStatus
from storage.errors import translated
from storage.grants import GRANT
from storage.rows import entity


class SqlGrantLedger:
    """Reads in a connection of its own: reconciliation looks, then acts through the store's units of work."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def grants(self, *, integration: str, statuses: tuple[GrantStatus, ...],
               updated_since: datetime | None = None) -> list[Grant]:
        statement = select(GRANT).where(GRANT.c.integration == integration, GRANT.c.status.in_(statuses))
        if updated_since is not None:
            statement = statement.where(GRANT.c.updated_at >= updated_since)
        with translated(), self._engine.connect() as connection:
            return [entity(Grant, row) for row in connection.execute(statement.order_by(GRANT.c.id))]

"""Scheduled access: how far ahead a flow lets access start (`access_flow.max_schedule_ahead`, ISO 8601) and when a
request's access starts (`access_request.starts_at`). The grant of an approved scheduled request waits, due at the
start, as any grant due later does (its `next_attempt_at`): durable across restarts and replicas.

Nullable columns added in place; existing flows read as 7 days, existing requests start once approved.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 13:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("access_flow", sa.Column("max_schedule_ahead", sa.String(32), nullable=True))
    op.add_column("access_request", sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE access_request DROP COLUMN starts_at")
    op.execute("ALTER TABLE access_flow DROP COLUMN max_schedule_ahead")

"""Revoke now: who ended a grant early besides its holder (`grant.ended_as`: admin or owner) and the reason they
gave (`grant.end_reason`), for the holder's DM, the approval message and the `revoked` audit row.

Nullable columns added in place (no table rebuild on SQLite): existing grants were not revoked by anyone else.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("grant", sa.Column("ended_as", sa.String(16), nullable=True))
    op.add_column("grant", sa.Column("end_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+ and PostgreSQL), as 0006 does.
    op.execute('ALTER TABLE "grant" DROP COLUMN end_reason')
    op.execute('ALTER TABLE "grant" DROP COLUMN ended_as')

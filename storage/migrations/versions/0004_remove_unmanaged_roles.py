"""Integrations say whether reconciliation removes roles added outside the bot (`integration.remove_unmanaged_roles`).

Until now only the process-wide RECONCILE_REMOVE_UNMANAGED said so (still honoured, deprecated). Existing
integrations get false: their unmanaged roles are reported as before, not removed. A NOT NULL column with a
server default, added in place (no table rebuild on SQLite); the default also serves a replica still running
the previous release during a rolling upgrade, which inserts integrations without the column.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 14:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("integration", sa.Column("remove_unmanaged_roles", sa.Boolean(), nullable=False,
                                           server_default=sa.false()))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+ and PostgreSQL), as 0003 does: a batch rebuild is not needed for one column.
    op.execute("ALTER TABLE integration DROP COLUMN remove_unmanaged_roles")

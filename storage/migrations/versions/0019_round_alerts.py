"""What the timer rounds told integration owners, shared by the replicas (`round_alert`): a lasting failure of
a round is told once, not once per replica or again after every restart.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 15:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "round_alert",
        sa.Column("round_name", sa.String(length=64), nullable=False),
        sa.Column("integration", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("told_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("round_name", "integration", "fingerprint"),
    )


def downgrade() -> None:
    op.drop_table("round_alert")

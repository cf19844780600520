"""The Slack outbox: approval-message updates and DMs that Slack refused through every retry wait here to be sent
again (`storage.outbox`), so a restart during a Slack outage no longer forgets them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 01:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "slack_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("rev", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index(op.f("ix_slack_outbox_due_at"), "slack_outbox", ["due_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_slack_outbox_due_at"), table_name="slack_outbox")
    op.drop_table("slack_outbox")

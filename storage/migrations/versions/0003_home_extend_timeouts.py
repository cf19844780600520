"""Extensions and expiry reminders: a request may ask for more time on a grant (`access_request.extends_grant_id`);
a grant records when its expiry reminder was sent (`grant.reminder_sent_at`), so it is sent once; an undecided
request records its approvers' reminder and its escalation (`reminded_at`, `escalated_at`); flows carry their
pending timeouts (`access_flow.pending`, JSON; NULL means the defaults).

Nullable columns added in place (no table rebuild on SQLite); no foreign key, as grants already point at
requests and the pair would be circular.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 14:15:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("access_request", sa.Column("extends_grant_id", sa.Integer(), nullable=True))
    op.add_column("grant", sa.Column("reminder_sent_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("access_request", sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("access_request", sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("access_flow", sa.Column("pending", sa.JSON(), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+ and PostgreSQL): a batch rebuild would orphan the grant rows.
    for table, column in (("access_flow", "pending"), ("access_request", "escalated_at"),
                          ("access_request", "reminded_at"), ("grant", "reminder_sent_at")):
        op.execute(f'ALTER TABLE "{table}" DROP COLUMN {column}')
    op.execute("ALTER TABLE access_request DROP COLUMN extends_grant_id")

"""Once only: a request remembers the Slack view it was submitted from (`access_request.submission_key`) and, while
it is pending, what it asks for (`pending_key`), each under a unique index, so a replayed submission or a second
pending twin is not stored, even by two replicas at once (see access.once_only); an extension given less time than
asked says why (`outcome_note`); a grant ended early records who ended it (`grant.ended_by`).

Nullable columns added in place (no table rebuild on SQLite). Rows from before have NULL keys, which never collide:
the use cases compare pending requests by what they ask for, so those count as twins all the same.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("access_request", sa.Column("submission_key", sa.String(length=64), nullable=True))
    op.add_column("access_request", sa.Column("pending_key", sa.String(length=64), nullable=True))
    op.add_column("access_request", sa.Column("outcome_note", sa.Text(), nullable=True))
    op.add_column("grant", sa.Column("ended_by", sa.String(length=32), nullable=True))
    op.create_index("ix_access_request_submission_key", "access_request", ["submission_key"], unique=True)
    op.create_index("ix_access_request_pending_key", "access_request", ["pending_key"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_access_request_pending_key", table_name="access_request")
    op.drop_index("ix_access_request_submission_key", table_name="access_request")
    # Plain DROP COLUMN (SQLite 3.35+ and PostgreSQL): a batch rebuild would orphan the grant rows.
    op.execute('ALTER TABLE "grant" DROP COLUMN ended_by')
    for column in ("outcome_note", "pending_key", "submission_key"):
        op.execute(f"ALTER TABLE access_request DROP COLUMN {column}")

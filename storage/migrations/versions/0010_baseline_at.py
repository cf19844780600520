"""A grant records when its baseline was taken (`grant.baseline_at`): the look-up a grant makes anyway hands the
worker what the person held, saved before the grant changes anything in Atlas, so a grant takes two Atlas calls
(look up, add) instead of three. A grant without it has changed nothing in Atlas yet, however many look-ups failed.

Grants from before that passed their first attempt (or moved on) took their baseline then: they get their last
update time. A nullable column added in place (no table rebuild on SQLite).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 12:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("grant", sa.Column("baseline_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE \"grant\" SET baseline_at = updated_at WHERE attempts > 0 OR status <> 'granting'")


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+ and PostgreSQL): a batch rebuild would orphan rows that refer to grants.
    op.execute('ALTER TABLE "grant" DROP COLUMN baseline_at')

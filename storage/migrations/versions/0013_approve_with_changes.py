"""Approve with changes: a flow may require a reason with each approval (`access_flow.approval_reason`).

A nullable column added in place; existing flows read as `optional`. An approval's own duration and reason live in
the request's `approvals` JSON, which needs no change.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 12:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("access_flow", sa.Column("approval_reason", sa.String(16), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE access_flow DROP COLUMN approval_reason")

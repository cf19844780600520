"""Requests on behalf: a flow's delegates (`access_flow.delegates`, who may ask for someone else besides the admins)
and who asked for the requester (`access_request.requested_by`).

Nullable columns added in place; existing flows have no delegates, existing requests were asked by their requester.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 13:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("access_flow", sa.Column("delegates", sa.JSON(), nullable=True))
    op.add_column("access_request", sa.Column("requested_by", sa.String(32), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE access_request DROP COLUMN requested_by")
    op.execute("ALTER TABLE access_flow DROP COLUMN delegates")

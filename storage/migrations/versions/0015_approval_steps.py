"""Multi-step approvals: a flow's ordered steps (`access_flow.approval_steps`) and the steps a request was made under
(`access_request.approval_steps`); each approval's step is in the request's `approvals` JSON.

Nullable JSON columns added in place; existing flows and requests have one approver list, as before.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 13:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("access_flow", sa.Column("approval_steps", sa.JSON(), nullable=True))
    op.add_column("access_request", sa.Column("approval_steps", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE access_request DROP COLUMN approval_steps")
    op.execute("ALTER TABLE access_flow DROP COLUMN approval_steps")

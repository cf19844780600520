"""On call and in the IdP: an integration's PagerDuty and Okta connections (public part as JSON, literal secret as
Fernet ciphertext), a flow's on-call auto-approval rule (`access_flow.auto_approve`), and what a request's on-call
check found (`access_request.on_call`), so its approval message can say it.

Nullable columns added in place (no table rebuild on SQLite): existing integrations have no connection, existing
flows no rule, existing requests no check.

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-09 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INTEGRATION = (("pagerduty", sa.JSON()), ("pagerduty_secret", sa.Text()), ("okta", sa.JSON()),
                ("okta_secret", sa.Text()))


def upgrade() -> None:
    for name, kind in _INTEGRATION:
        op.add_column("integration", sa.Column(name, kind, nullable=True))
    op.add_column("access_flow", sa.Column("auto_approve", sa.JSON(), nullable=True))
    op.add_column("access_request", sa.Column("on_call", sa.JSON(), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+ and PostgreSQL), as 0006 does.
    op.execute("ALTER TABLE access_request DROP COLUMN on_call")
    op.execute("ALTER TABLE access_flow DROP COLUMN auto_approve")
    for name, _ in reversed(_INTEGRATION):
        op.execute(f"ALTER TABLE integration DROP COLUMN {name}")

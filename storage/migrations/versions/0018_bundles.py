"""Several resources in one request, and bundles: a flow's named sets of resources and roles
(`access_flow.bundles`, JSON); the request group of an item (`access_request.group_id`, indexed), the approval
message it is listed on (`group_part`) and the common end of the group's access (`access_request.ends_at`,
`grant.ends_at`), and when the requester was told every item's outcome (`access_request.group_told_at`, on the
group's first item: the summary is sent once).

Nullable columns added in place; existing flows have no bundles, existing requests are alone.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 15:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("access_flow", sa.Column("bundles", sa.JSON(), nullable=True))
    op.add_column("access_request", sa.Column("group_id", sa.String(32), nullable=True))
    op.add_column("access_request", sa.Column("group_part", sa.Integer(), nullable=True))
    op.add_column("access_request", sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("access_request", sa.Column("group_told_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_access_request_group_id", "access_request", ["group_id"])
    op.add_column("grant", sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.execute('ALTER TABLE "grant" DROP COLUMN ends_at')
    op.drop_index("ix_access_request_group_id", table_name="access_request")
    op.execute("ALTER TABLE access_request DROP COLUMN group_told_at")
    op.execute("ALTER TABLE access_request DROP COLUMN ends_at")
    op.execute("ALTER TABLE access_request DROP COLUMN group_part")
    op.execute("ALTER TABLE access_request DROP COLUMN group_id")
    op.execute("ALTER TABLE access_flow DROP COLUMN bundles")

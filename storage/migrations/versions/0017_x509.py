"""X.509 sign-in for temporary database users: a cluster flow's `auth` ("password" or "x509"), and the request's and
grant's `database_auth` ("x509", or NULL for a password), so revocation deletes the user from the database it
authenticates on (`$external` for X.509, `admin` for SCRAM).

Reconciliation of team memberships: `atlas_user.team_ids`, the teams a synced user is in (listOrgUsers' `teamIds`,
read by discovery already), NULL until the next sync.

Nullable columns added in place; existing flows, requests and grants read as password sign-in.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 15:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("access_flow", sa.Column("auth", sa.String(16), nullable=True))
    op.add_column("access_request", sa.Column("database_auth", sa.String(16), nullable=True))
    op.add_column("grant", sa.Column("database_auth", sa.String(16), nullable=True))
    op.add_column("atlas_user", sa.Column("team_ids", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE atlas_user DROP COLUMN team_ids")
    op.execute('ALTER TABLE "grant" DROP COLUMN database_auth')
    op.execute("ALTER TABLE access_request DROP COLUMN database_auth")
    op.execute("ALTER TABLE access_flow DROP COLUMN auth")

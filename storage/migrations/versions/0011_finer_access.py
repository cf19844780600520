"""Finer Atlas access (issue 13).

Atlas teams as requestable resources: `atlas_team`, each team of an organization with the project roles it holds
(group id -> roles). Credentials that never sit in a chat: `held_credentials`, a temporary database user's sign-in,
Fernet-encrypted, from its creation until its requester opens it once ("Show credentials"), for at most 10 minutes
(`storage.vault`); in the database rather than one replica's memory, so the replica that gets the click shows it.
A network path that expires: a cluster flow's `network_access` and `network_max_prefix`,
`access_request.network_entry` (the CIDR block asked for), `grant.network_entry` and `grant.network_added` (whether
the grant put it on the project's IP access list), nullable columns added in place.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "held_credentials",
        sa.Column("grant_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("requester_id", sa.String(length=32), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("grant_id"),
    )
    op.create_index(op.f("ix_held_credentials_expires_at"), "held_credentials", ["expires_at"], unique=False)
    op.create_table(
        "atlas_team",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("integration", sa.String(length=64), nullable=False),
        sa.Column("atlas_id", sa.String(length=64), nullable=False),
        sa.Column("organization_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("project_roles", sa.JSON(), nullable=False),
        sa.Column("present", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("integration", "atlas_id", name="uq_atlas_team_integration"),
    )
    op.create_index(op.f("ix_atlas_team_name"), "atlas_team", ["name"], unique=False)
    op.add_column("access_flow", sa.Column("network_access", sa.String(length=16), nullable=True))
    op.add_column("access_flow", sa.Column("network_max_prefix", sa.Integer(), nullable=True))
    op.add_column("access_request", sa.Column("network_entry", sa.String(length=64), nullable=True))
    op.add_column("grant", sa.Column("network_entry", sa.String(length=64), nullable=True))
    op.add_column("grant", sa.Column("network_added", sa.Boolean(), nullable=True))


def downgrade() -> None:
    op.execute('ALTER TABLE "grant" DROP COLUMN network_added')
    op.execute('ALTER TABLE "grant" DROP COLUMN network_entry')
    op.execute("ALTER TABLE access_request DROP COLUMN network_entry")
    op.execute("ALTER TABLE access_flow DROP COLUMN network_max_prefix")
    op.execute("ALTER TABLE access_flow DROP COLUMN network_access")
    op.drop_index(op.f("ix_atlas_team_name"), table_name="atlas_team")
    op.drop_table("atlas_team")
    op.drop_index(op.f("ix_held_credentials_expires_at"), table_name="held_credentials")
    op.drop_table("held_credentials")

"""Credentials that never sit in a chat: a temporary database user's sign-in is held here, Fernet-encrypted, from
its creation until its requester opens it once ("Show credentials"), for at most 10 minutes (`storage.vault`).
In the database rather than one replica's memory, so the replica that gets the click can show it.

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-05 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0009"
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


def downgrade() -> None:
    op.drop_index(op.f("ix_held_credentials_expires_at"), table_name="held_credentials")
    op.drop_table("held_credentials")

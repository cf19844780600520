"""Temporary database users on clusters and break-glass flows.

Cluster ids (`<group id>/<cluster name>`) need a wider `resource_id`; grants remember their database user's
name (never its password); flows can be break-glass, and requests record the owners' review afterwards.
Batch mode so SQLite can change a column's type (it rebuilds the table); PostgreSQL gets plain ALTERs.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 13:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


class _GrantRowsAside:
    """SQLite changes a column's type by rebuilding the table, and dropping the old access_request would orphan
    the rows of `grant` that reference it (foreign keys are on, and cannot be turned off inside the migration's
    transaction; deferring them does not help, as the rebuilt table's rows were never inserted as parents).
    So on SQLite the grant rows wait in a temporary table while the two tables are rebuilt.
    """

    def __enter__(self) -> None:
        self._sqlite = op.get_bind().dialect.name == "sqlite"
        if self._sqlite:
            op.execute('CREATE TEMP TABLE grant_rows_aside AS SELECT * FROM "grant"')
            op.execute('DELETE FROM "grant"')

    def __exit__(self, *exc: object) -> None:
        if not self._sqlite or exc[0] is not None:
            return
        bind = op.get_bind()
        aside = set(bind.execute(sa.text("SELECT * FROM grant_rows_aside LIMIT 0")).keys())
        columns = ", ".join(f'"{c["name"]}"' for c in sa.inspect(bind).get_columns("grant") if c["name"] in aside)
        op.execute(f'INSERT INTO "grant" ({columns}) SELECT {columns} FROM grant_rows_aside')  # noqa: S608 - names from the schema
        op.execute("DROP TABLE grant_rows_aside")


def upgrade() -> None:
    with op.batch_alter_table("access_flow") as batch:
        batch.add_column(sa.Column("break_glass", sa.Boolean(), nullable=False, server_default=sa.false()))
    with _GrantRowsAside():
        _widen_and_add()


def _widen_and_add() -> None:
    with op.batch_alter_table("access_request") as batch:
        batch.alter_column("resource_id", existing_type=sa.String(length=64), type_=sa.String(length=128),
                           existing_nullable=False)
        batch.add_column(sa.Column("break_glass", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("reviewed_by", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("grant") as batch:
        batch.alter_column("resource_id", existing_type=sa.String(length=64), type_=sa.String(length=128),
                           existing_nullable=False)
        batch.add_column(sa.Column("database_user", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with _GrantRowsAside():
        _narrow_and_drop()
    with op.batch_alter_table("access_flow") as batch:
        batch.drop_column("break_glass")


def _narrow_and_drop() -> None:
    with op.batch_alter_table("grant") as batch:
        batch.drop_column("database_user")
        batch.alter_column("resource_id", existing_type=sa.String(length=128), type_=sa.String(length=64),
                           existing_nullable=False)
    with op.batch_alter_table("access_request") as batch:
        batch.drop_column("reviewed_at")
        batch.drop_column("reviewed_by")
        batch.drop_column("break_glass")
        batch.alter_column("resource_id", existing_type=sa.String(length=128), type_=sa.String(length=64),
                           existing_nullable=False)

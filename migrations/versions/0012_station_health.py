"""station health

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # In place, as 0009: recreating station on SQLite trips the foreign keys pointing at it.
    with op.batch_alter_table("station", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("last_contact_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("free_bytes", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("station", schema=None, recreate="never") as batch_op:
        for column in ("free_bytes", "last_error_at", "last_error", "last_contact_at"):
            batch_op.drop_column(column)

"""virus scan verdict on items

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # In place, as 0009: recreating evidence_item on SQLite trips its foreign keys.
    with op.batch_alter_table("evidence_item", schema=None, recreate="never") as batch_op:
        batch_op.add_column(
            sa.Column(
                "scan_status", sa.String(length=20), nullable=False,
                server_default=sa.text("'unscanned'"),
            )
        )  # fmt: skip
        batch_op.add_column(sa.Column("scan_detail", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("scan_released_by", sa.String(length=100), nullable=True))
    op.execute(
        "UPDATE evidence_item SET scan_detail = 'ingested before virus checks existed'"
        " WHERE scan_detail IS NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("evidence_item", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("scan_released_by")
        batch_op.drop_column("scan_detail")
        batch_op.drop_column("scan_status")

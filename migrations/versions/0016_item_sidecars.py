"""sidecar files kept with their recordings (before, only their digest was recorded)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "item_sidecar",
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("station", sa.String(length=100), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("problem", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["evidence_item.id"], name=op.f("fk_item_sidecar_item_id_evidence_item")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item_sidecar")),
    )
    with op.batch_alter_table("item_sidecar") as batch:
        batch.create_index(batch.f("ix_item_sidecar_item_id"), ["item_id"], unique=False)


def downgrade() -> None:
    op.drop_table("item_sidecar")

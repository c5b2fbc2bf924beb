"""recording gap explanations; item flags

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gap_explanation",
        sa.Column("before_item_id", sa.Uuid(), nullable=False),
        sa.Column("after_item_id", sa.Uuid(), nullable=False),
        sa.Column("cause", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("explained_by", sa.Text(), nullable=False),
        sa.Column("explained_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["before_item_id"], ["evidence_item.id"],
            name=op.f("fk_gap_explanation_before_item_id_evidence_item"),
        ),
        sa.ForeignKeyConstraint(
            ["after_item_id"], ["evidence_item.id"],
            name=op.f("fk_gap_explanation_after_item_id_evidence_item"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gap_explanation")),
        sa.UniqueConstraint(
            "before_item_id", "after_item_id",
            name=op.f("uq_gap_explanation_before_item_id"),
        ),
    )  # fmt: skip
    with op.batch_alter_table("gap_explanation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_gap_explanation_before_item_id"), ["before_item_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_gap_explanation_after_item_id"), ["after_item_id"], unique=False
        )


    # In place, as 0009: flags such as a station digest that did not match the bytes.
    with op.batch_alter_table("evidence_item", schema=None, recreate="never") as batch_op:
        batch_op.add_column(
            sa.Column("flags", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )


def downgrade() -> None:
    with op.batch_alter_table("evidence_item", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("flags")
    op.drop_table("gap_explanation")

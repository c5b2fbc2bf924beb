"""retention, holds and appraisal

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "appraisal_batch",
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("supervisor", sa.String(length=100), nullable=True),
        sa.Column("supervised_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("executor", sa.String(length=100), nullable=True),
        sa.Column("executed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("register_digest", sa.String(length=64), nullable=True),
        sa.Column("register_size", sa.BigInteger(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appraisal_batch")),
        sa.UniqueConstraint("number", name=op.f("uq_appraisal_batch_number")),
    )
    with op.batch_alter_table("appraisal_batch", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_appraisal_batch_status"), ["status"], unique=False)

    op.create_table(
        "retention_policy",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_retention_policy")),
    )
    op.create_table(
        "appraisal_decision",
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column("decision", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("keep_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retain_until_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("digest_seen", sa.String(length=64), nullable=False),
        sa.Column("appraised_seq", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["appraisal_batch.id"],
            name=op.f("fk_appraisal_decision_batch_id_appraisal_batch"),
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["evidence_item.id"],
            name=op.f("fk_appraisal_decision_item_id_evidence_item"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appraisal_decision")),
    )
    with op.batch_alter_table("appraisal_decision", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_appraisal_decision_batch_id"), ["batch_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_appraisal_decision_item_id"), ["item_id"], unique=False
        )

    op.create_table(
        "legal_hold",
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("placed_by", sa.String(length=100), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_by", sa.String(length=100), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("release_reason", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["evidence_item.id"], name=op.f("fk_legal_hold_item_id_evidence_item")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_hold")),
    )
    with op.batch_alter_table("legal_hold", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_legal_hold_item_id"), ["item_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_legal_hold_released_at"), ["released_at"], unique=False
        )

    # In place (ALTER TABLE ADD COLUMN): recreating evidence_item on SQLite, as batch mode may,
    # trips the foreign keys of every table that points at it.
    with op.batch_alter_table("evidence_item", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("retention_rule", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("retention_basis", sa.Text(), nullable=True))
        # Existing items have no category yet.
        batch_op.add_column(
            sa.Column("categories", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
    # Items ingested before the rules had the default long-term end; say so.
    op.execute(
        "UPDATE evidence_item SET retention_rule = 'long_term', retention_basis ="
        " 'in no case: the default long-term period from receipt (set before retention rules)'"
        " WHERE retention_rule IS NULL AND retain_until IS NOT NULL"
    )


def downgrade() -> None:
    # In place too (ALTER TABLE DROP COLUMN needs SQLite 3.35+).
    with op.batch_alter_table("evidence_item", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("categories")
        batch_op.drop_column("retention_basis")
        batch_op.drop_column("retention_rule")

    with op.batch_alter_table("legal_hold", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_legal_hold_released_at"))
        batch_op.drop_index(batch_op.f("ix_legal_hold_item_id"))

    op.drop_table("legal_hold")
    with op.batch_alter_table("appraisal_decision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appraisal_decision_item_id"))
        batch_op.drop_index(batch_op.f("ix_appraisal_decision_batch_id"))

    op.drop_table("appraisal_decision")
    op.drop_table("retention_policy")
    with op.batch_alter_table("appraisal_batch", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appraisal_batch_status"))

    op.drop_table("appraisal_batch")

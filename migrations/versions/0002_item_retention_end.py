"""item retention end

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('evidence_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retain_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            batch_op.f('ix_evidence_item_retain_until'), ['retain_until'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('evidence_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_item_retain_until'))
        batch_op.drop_column('retain_until')

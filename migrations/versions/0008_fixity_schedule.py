"""fixity schedule

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'fixity_state',
        sa.Column('item_id', sa.Uuid(), nullable=False),
        sa.Column('copy', sa.String(length=20), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('last_checked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('quarantined_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ['item_id'], ['evidence_item.id'], name=op.f('fk_fixity_state_item_id_evidence_item')
        ),
        sa.PrimaryKeyConstraint('item_id', 'copy', name=op.f('pk_fixity_state')),
    )
    op.create_index(
        op.f('ix_fixity_state_last_checked_at'), 'fixity_state', ['last_checked_at'], unique=False
    )
    op.create_index(
        op.f('ix_fixity_state_quarantined_at'), 'fixity_state', ['quarantined_at'], unique=False
    )
    # Existing objects enter the schedule on the fixity job's first run.


def downgrade() -> None:
    op.drop_index(op.f('ix_fixity_state_quarantined_at'), table_name='fixity_state')
    op.drop_index(op.f('ix_fixity_state_last_checked_at'), table_name='fixity_state')
    op.drop_table('fixity_state')

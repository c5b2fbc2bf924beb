"""renditions

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('rendition',
    sa.Column('item_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.Enum('running', 'made', 'failed', name='renditionstatus', native_enum=False, length=20), nullable=False),
    sa.Column('claimed_by', sa.String(length=200), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('digest', sa.String(length=64), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=True),
    sa.Column('ffmpeg_version', sa.String(length=200), nullable=True),
    sa.Column('arguments', sa.JSON(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['evidence_item.id'], name=op.f('fk_rendition_item_id_evidence_item')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rendition')),
    sa.UniqueConstraint('item_id', name=op.f('uq_rendition_item_id'))
    )
    with op.batch_alter_table('rendition', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rendition_status'), ['status'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('rendition', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rendition_status'))

    op.drop_table('rendition')

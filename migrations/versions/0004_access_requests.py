"""access requests

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('access_request',
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('requester_id', sa.Uuid(), nullable=False),
    sa.Column('purpose', sa.Enum('view', 'copy_original', 'copy_rendition', name='purpose', native_enum=False, length=30), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('period_days', sa.Integer(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('requester_kind', sa.Enum('internal', 'public_security', 'procuratorate', 'supervision_commission', 'lawyer', 'party', name='requesterkind', native_enum=False, length=30), nullable=False),
    sa.Column('organisation', sa.String(length=200), nullable=False),
    sa.Column('document_ref', sa.String(length=200), nullable=False),
    sa.Column('identity_ref', sa.String(length=100), nullable=False),
    sa.Column('status', sa.Enum('pending', 'approved', 'refused', name='requeststatus', native_enum=False, length=30), nullable=False),
    sa.Column('decided_by_id', sa.Uuid(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['decided_by_id'], ['app_user.id'], name=op.f('fk_access_request_decided_by_id_app_user')),
    sa.ForeignKeyConstraint(['requester_id'], ['app_user.id'], name=op.f('fk_access_request_requester_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_request')),
    sa.UniqueConstraint('number', name=op.f('uq_access_request_number'))
    )
    with op.batch_alter_table('access_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_request_requester_id'), ['requester_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_access_request_status'), ['status'], unique=False)

    op.create_table('access_request_item',
    sa.Column('request_id', sa.Uuid(), nullable=False),
    sa.Column('item_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['evidence_item.id'], name=op.f('fk_access_request_item_item_id_evidence_item')),
    sa.ForeignKeyConstraint(['request_id'], ['access_request.id'], name=op.f('fk_access_request_item_request_id_access_request')),
    sa.PrimaryKeyConstraint('request_id', 'item_id', name=op.f('pk_access_request_item'))
    )


def downgrade() -> None:
    op.drop_table('access_request_item')
    with op.batch_alter_table('access_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_request_status'))
        batch_op.drop_index(batch_op.f('ix_access_request_requester_id'))

    op.drop_table('access_request')

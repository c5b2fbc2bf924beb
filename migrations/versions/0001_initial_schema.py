"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('case_file',
    sa.Column('number', sa.String(length=100), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_file')),
    sa.UniqueConstraint('number', name=op.f('uq_case_file_number'))
    )
    op.create_table('device',
    sa.Column('serial', sa.String(length=100), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device')),
    sa.UniqueConstraint('serial', name=op.f('uq_device_serial'))
    )
    op.create_table('log_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('last_seq', sa.BigInteger(), nullable=False),
    sa.Column('last_hash', sa.LargeBinary(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_log_head'))
    )
    op.create_table('station',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('location', sa.String(length=200), nullable=False),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_station')),
    sa.UniqueConstraint('name', name=op.f('uq_station_name'))
    )
    op.create_table('evidence_item',
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('media_type', sa.String(length=100), nullable=False),
    sa.Column('original_name', sa.Text(), nullable=False),
    sa.Column('original_name_raw', sa.LargeBinary(), nullable=False),
    sa.Column('station_id', sa.Uuid(), nullable=False),
    sa.Column('device_id', sa.Uuid(), nullable=True),
    sa.Column('officer', sa.String(length=100), nullable=True),
    sa.Column('recorded_start', sa.DateTime(timezone=True), nullable=True),
    sa.Column('recorded_end', sa.DateTime(timezone=True), nullable=True),
    sa.Column('duration_ms', sa.BigInteger(), nullable=True),
    sa.Column('docked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ingested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('media_status', sa.Enum('probed', 'unreadable', name='mediastatus', native_enum=False, length=20), nullable=False),
    sa.Column('probe', sa.JSON(), nullable=True),
    sa.Column('probe_error', sa.Text(), nullable=True),
    sa.Column('station_metadata', sa.JSON(), nullable=True),
    sa.Column('sealed_locator', sa.Text(), nullable=False),
    sa.Column('access_locator', sa.Text(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=True),
    sa.Column('status', sa.Enum('preserved', 'destroyed', name='itemstatus', native_enum=False, length=20), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], name=op.f('fk_evidence_item_case_id_case_file')),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], name=op.f('fk_evidence_item_device_id_device')),
    sa.ForeignKeyConstraint(['station_id'], ['station.id'], name=op.f('fk_evidence_item_station_id_station')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_item')),
    sa.UniqueConstraint('digest', name=op.f('uq_evidence_item_digest'))
    )
    with op.batch_alter_table('evidence_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_item_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidence_item_device_id'), ['device_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidence_item_ingested_at'), ['ingested_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidence_item_officer'), ['officer'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidence_item_recorded_start'), ['recorded_start'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidence_item_station_id'), ['station_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidence_item_status'), ['status'], unique=False)

    op.create_table('chain_head',
    sa.Column('item_id', sa.Uuid(), nullable=False),
    sa.Column('length', sa.BigInteger(), nullable=False),
    sa.Column('last_seq', sa.BigInteger(), nullable=False),
    sa.Column('head_hash', sa.LargeBinary(length=32), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['evidence_item.id'], name=op.f('fk_chain_head_item_id_evidence_item')),
    sa.PrimaryKeyConstraint('item_id', name=op.f('pk_chain_head'))
    )
    op.create_table('custody_event',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('item_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('prev_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('entry_hash', sa.LargeBinary(length=32), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['evidence_item.id'], name=op.f('fk_custody_event_item_id_evidence_item')),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_custody_event')),
    sa.UniqueConstraint('entry_hash', name=op.f('uq_custody_event_entry_hash'))
    )
    with op.batch_alter_table('custody_event', schema=None) as batch_op:
        batch_op.create_index('ix_custody_event_item_seq', ['item_id', 'seq'], unique=False)

    op.create_table('station_file',
    sa.Column('station_id', sa.Uuid(), nullable=False),
    sa.Column('rel_path_raw', sa.LargeBinary(), nullable=False),
    sa.Column('rel_path', sa.Text(), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('mtime_ns', sa.BigInteger(), nullable=False),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('stable', sa.Boolean(), nullable=False),
    sa.Column('state', sa.Enum('waiting', 'ingesting', 'ingested', 'acknowledged', 'rejected', 'vanished', name='filestate', native_enum=False, length=20), nullable=False),
    sa.Column('claimed_by', sa.Text(), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('item_id', sa.Uuid(), nullable=True),
    sa.Column('ingested_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['evidence_item.id'], name=op.f('fk_station_file_item_id_evidence_item')),
    sa.ForeignKeyConstraint(['station_id'], ['station.id'], name=op.f('fk_station_file_station_id_station')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_station_file')),
    sa.UniqueConstraint('station_id', 'rel_path_raw', name=op.f('uq_station_file_station_id'))
    )
    with op.batch_alter_table('station_file', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_station_file_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_station_file_station_id'), ['station_id'], unique=False)

    # The one log-head row whose lock serialises custody appends: seq 0, no entries yet.
    log_head = sa.table('log_head', sa.column('id', sa.Integer()),
                        sa.column('last_seq', sa.BigInteger()),
                        sa.column('last_hash', sa.LargeBinary()))
    op.bulk_insert(log_head, [{'id': 1, 'last_seq': 0, 'last_hash': bytes(32)}])


def downgrade() -> None:
    with op.batch_alter_table('station_file', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_station_file_station_id'))
        batch_op.drop_index(batch_op.f('ix_station_file_state'))

    op.drop_table('station_file')
    with op.batch_alter_table('custody_event', schema=None) as batch_op:
        batch_op.drop_index('ix_custody_event_item_seq')

    op.drop_table('custody_event')
    op.drop_table('chain_head')
    with op.batch_alter_table('evidence_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_item_status'))
        batch_op.drop_index(batch_op.f('ix_evidence_item_station_id'))
        batch_op.drop_index(batch_op.f('ix_evidence_item_recorded_start'))
        batch_op.drop_index(batch_op.f('ix_evidence_item_officer'))
        batch_op.drop_index(batch_op.f('ix_evidence_item_ingested_at'))
        batch_op.drop_index(batch_op.f('ix_evidence_item_device_id'))
        batch_op.drop_index(batch_op.f('ix_evidence_item_case_id'))

    op.drop_table('evidence_item')
    op.drop_table('station')
    op.drop_table('log_head')
    op.drop_table('device')
    op.drop_table('case_file')

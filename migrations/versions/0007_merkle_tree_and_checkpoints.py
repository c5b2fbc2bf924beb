"""merkle tree nodes, signing keys, checkpoints

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from custody.log.canonical import canonical_bytes, event_document
from custody.log.merkle import TreeBuilder, leaf_hash
from vault.db import UTCDateTime

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000


def upgrade() -> None:
    node = op.create_table(
        'merkle_node',
        sa.Column('level', sa.SmallInteger(), nullable=False),
        sa.Column('position', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('hash', sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint('level', 'position', name=op.f('pk_merkle_node')),
    )
    op.create_table(
        'signing_key',
        sa.Column('key_id', sa.String(length=8), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('algorithm', sa.String(length=20), nullable=False),
        sa.Column('public_key', sa.LargeBinary(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('key_id', name=op.f('pk_signing_key')),
    )
    op.create_table(
        'checkpoint',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tree_size', sa.BigInteger(), nullable=False),
        sa.Column('root_hash', sa.LargeBinary(length=32), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('key_id', sa.String(length=8), nullable=False),
        sa.Column('timestamp_token', sa.LargeBinary(), nullable=True),
        sa.Column('sealed_digest', sa.String(length=64), nullable=True),
        sa.Column('renews_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ['key_id'], ['signing_key.key_id'], name=op.f('fk_checkpoint_key_id_signing_key')
        ),
        sa.ForeignKeyConstraint(
            ['renews_id'], ['checkpoint.id'], name=op.f('fk_checkpoint_renews_id_checkpoint')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_checkpoint')),
    )
    op.create_index(op.f('ix_checkpoint_tree_size'), 'checkpoint', ['tree_size'], unique=False)
    with op.batch_alter_table('log_head', schema=None) as batch_op:
        batch_op.add_column(sa.Column('origin', sa.String(length=200), nullable=True))
    _build_tree_of_existing_entries(node)


def _build_tree_of_existing_entries(node: sa.Table) -> None:
    # The tree over entries written before this version, from the same canonical bytes the
    # chain hashes (custody.log.canonical); later entries add their nodes as they are appended.
    bind = op.get_bind()
    events = sa.table(
        'custody_event', sa.column('seq', sa.BigInteger()), sa.column('item_id', sa.Uuid()),
        sa.column('kind', sa.String()), sa.column('actor', sa.String()),
        sa.column('at', UTCDateTime()), sa.column('reason', sa.Text()),
        sa.column('data', sa.JSON()),
    )  # fmt: skip
    builder, pending = TreeBuilder(), []
    # yield_per on the statement, not the connection: on a connection it would stay set for
    # Alembic's own statements after this one.
    rows = bind.execute(sa.select(events).order_by(events.c.seq).execution_options(yield_per=BATCH))
    for row in rows:
        if row.seq != builder.size + 1:
            raise RuntimeError(f"custody log has a gap before seq {row.seq}: run `evault verify`")
        document = event_document(
            seq=row.seq, item=row.item_id, kind=row.kind, actor=row.actor, at=row.at,
            reason=row.reason, data=row.data,
        )  # fmt: skip
        for level, position, digest in builder.append(leaf_hash(canonical_bytes(document))):
            pending.append({'level': level, 'position': position, 'hash': digest})
        if len(pending) >= BATCH:
            bind.execute(node.insert(), pending)
            pending = []
    if pending:
        bind.execute(node.insert(), pending)


def downgrade() -> None:
    with op.batch_alter_table('log_head', schema=None) as batch_op:
        batch_op.drop_column('origin')
    op.drop_index(op.f('ix_checkpoint_tree_size'), table_name='checkpoint')
    op.drop_table('checkpoint')
    op.drop_table('signing_key')
    op.drop_table('merkle_node')

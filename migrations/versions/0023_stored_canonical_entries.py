"""each custody entry keeps the exact canonical bytes it was hashed from

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07

The audit then hashes and parses the stored bytes (and compares them with the columns)
instead of re-canonicalising every entry in pure Python. Existing entries get their bytes
recomputed from their columns here, once; an entry whose recomputed bytes do not hash to its
recorded entry_hash is left without them (NULL): the migration never stores bytes that
contradict the hash, and the audit re-checks such an entry from its columns and reports it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from custody.log.canonical import canonical_bytes, chain_hash, event_document
from vault.db import UTCDateTime

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5_000
log = logging.getLogger("evault.migrations")


def upgrade() -> None:
    with op.batch_alter_table("custody_event") as batch:
        batch.add_column(sa.Column("canonical", sa.LargeBinary(), nullable=True))
    _store_canonical_bytes_of_existing_entries()


def _store_canonical_bytes_of_existing_entries() -> None:
    bind = op.get_bind()
    events = sa.table(
        "custody_event", sa.column("seq", sa.BigInteger()), sa.column("item_id", sa.Uuid()),
        sa.column("kind", sa.String()), sa.column("actor", sa.String()),
        sa.column("at", UTCDateTime()), sa.column("reason", sa.Text()),
        sa.column("data", sa.JSON()), sa.column("prev_hash", sa.LargeBinary()),
        sa.column("entry_hash", sa.LargeBinary()), sa.column("canonical", sa.LargeBinary()),
    )  # fmt: skip
    store = (
        sa.update(events)
        .where(events.c.seq == sa.bindparam("at_seq"))
        .values(canonical=sa.bindparam("bytes"))
    )
    after, mismatched = None, 0
    while True:
        # Keyset pages: never an open cursor over the rows being updated.
        page = sa.select(events).order_by(events.c.seq).limit(BATCH)
        if after is not None:
            page = page.where(events.c.seq > after)
        rows = bind.execute(page).all()
        if not rows:
            break
        updates = []
        for row in rows:
            try:
                canonical = canonical_bytes(event_document(
                    seq=row.seq, item=row.item_id, kind=row.kind, actor=row.actor, at=row.at,
                    reason=row.reason, data=row.data,
                ))  # fmt: skip
            except (ValueError, TypeError):
                mismatched += 1
                continue
            if chain_hash(prev_hash=bytes(row.prev_hash), canonical=canonical) != bytes(
                row.entry_hash
            ):
                mismatched += 1
                continue
            updates.append({"at_seq": row.seq, "bytes": canonical})
        if updates:
            bind.execute(store, updates)
        after = rows[-1].seq
    if mismatched:
        log.warning(
            "%d custody entries do not hash to their recorded entry_hash; they were left"
            " without stored bytes: run `evault audit verify`", mismatched,
        )  # fmt: skip


def downgrade() -> None:
    with op.batch_alter_table("custody_event") as batch:
        batch.drop_column("canonical")

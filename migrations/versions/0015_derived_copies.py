"""derived copies (watermarked copies, export clips) as rows; fixity keys long enough for them

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "derived_copy",
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("made_for", sa.String(length=100), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["evidence_item.id"], name=op.f("fk_derived_copy_item_id_evidence_item")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_derived_copy")),
    )
    with op.batch_alter_table("derived_copy") as batch:
        batch.create_index(batch.f("ix_derived_copy_item_id"), ["item_id"], unique=False)
    # "derived:" and a digest name a derived copy in the fixity schedule.
    with op.batch_alter_table("fixity_state") as batch:
        batch.alter_column("copy", type_=sa.String(length=80), existing_nullable=False)
    _backfill()


def _backfill() -> None:
    """Until now the only record of a derived copy was its delivery event: a watermark text or
    a clip's derivative mark next to the digest of the bytes handed over."""
    bind = op.get_bind()
    events = bind.execute(
        sa.text(
            "SELECT item_id, at, data FROM custody_event"
            " WHERE kind IN ('viewed', 'downloaded', 'exported') ORDER BY seq"
        ).columns(at=sa.DateTime(timezone=True))
    )
    table = sa.table(
        "derived_copy",
        sa.column("id", sa.Uuid()),
        sa.column("item_id", sa.Uuid()),
        sa.column("kind", sa.String()),
        sa.column("digest", sa.String()),
        sa.column("size", sa.BigInteger()),
        sa.column("made_at", sa.DateTime(timezone=True)),
        sa.column("made_for", sa.String()),
    )
    rows = []
    for item_id, at, raw in events:
        data = json.loads(raw) if isinstance(raw, str) else raw
        if "watermark" in data:
            kind = "watermarked_copy"
        elif data.get("derivative") == "clip":
            kind = "clip"
        else:
            continue
        rows.append(
            {
                "id": uuid.uuid4(),
                "item_id": item_id if isinstance(item_id, uuid.UUID) else uuid.UUID(item_id),
                "kind": kind,
                "digest": data["digest"],
                "size": int(data.get("length") or 0),
                "made_at": at,
                "made_for": str(data.get("export") or data.get("request") or ""),
            }
        )
    if rows:
        op.bulk_insert(table, rows)


def downgrade() -> None:
    op.execute("DELETE FROM fixity_state WHERE copy LIKE 'derived:%'")
    with op.batch_alter_table("fixity_state") as batch:
        batch.alter_column("copy", type_=sa.String(length=20), existing_nullable=False)
    op.drop_table("derived_copy")

"""station files: since when the vault has seen each one unchanged (settling by its own clock)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("station_file") as batch:
        batch.add_column(sa.Column("unchanged_since", sa.DateTime(timezone=True), nullable=True))
    # Until now the file's own mtime decided; the vault's first sighting is the earliest
    # moment it can vouch for.
    op.execute("UPDATE station_file SET unchanged_since = first_seen_at")


def downgrade() -> None:
    with op.batch_alter_table("station_file") as batch:
        batch.drop_column("unchanged_since")

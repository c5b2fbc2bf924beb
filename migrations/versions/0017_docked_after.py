"""docked-at as a bound: the last listing of the station that did not show the file

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nothing to fill in: earlier scans kept no record of the listing before a first sighting,
    # so older files and items have no earlier bound (reports say so).
    for table in ("station_file", "evidence_item"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("docked_after", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # SQLite drops a column in place ("never" recreate): rebuilding evidence_item would break
    # the foreign keys that point at it.
    for table in ("station_file", "evidence_item"):
        with op.batch_alter_table(table, recreate="never") as batch:
            batch.drop_column("docked_after")

"""people who sign in through an OpenID Connect provider: its issuer and their subject

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Added in place (no table copy: other tables' foreign keys point at app_user), and
    # unique through an index, which SQLite creates without rebuilding the table.
    op.add_column("app_user", sa.Column("identity_issuer", sa.String(length=500), nullable=True))
    op.add_column("app_user", sa.Column("identity_subject", sa.String(length=255), nullable=True))
    op.create_index(
        "ix_app_user_identity", "app_user", ["identity_issuer", "identity_subject"], unique=True
    )


def downgrade() -> None:
    op.drop_index("ix_app_user_identity", table_name="app_user")
    with op.batch_alter_table("app_user", recreate="never") as batch:
        batch.drop_column("identity_subject")
        batch.drop_column("identity_issuer")

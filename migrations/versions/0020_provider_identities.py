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
    with op.batch_alter_table("app_user") as batch:
        batch.add_column(sa.Column("identity_issuer", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("identity_subject", sa.String(length=255), nullable=True))
        batch.create_unique_constraint(
            batch.f("uq_app_user_identity_issuer"), ["identity_issuer", "identity_subject"]
        )


def downgrade() -> None:
    with op.batch_alter_table("app_user") as batch:
        batch.drop_constraint(batch.f("uq_app_user_identity_issuer"), type_="unique")
        batch.drop_column("identity_subject")
        batch.drop_column("identity_issuer")

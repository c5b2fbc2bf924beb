"""Alembic environment. The one module that imports every model, so metadata is complete."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine, create_engine

import custody.access.models
import custody.admin.models
import custody.fixity.models
import custody.log.audit_models
import custody.log.models
import custody.log.proof_models  # noqa: F401
import ingest.models  # noqa: F401
import retention.models  # noqa: F401
import vault.alert_models
import vault.models  # noqa: F401
from vault.db import Base

target_metadata = Base.metadata
config = context.config


def _engine() -> Engine:
    engine = config.attributes.get("engine")
    if engine is not None:
        return engine  # type: ignore[no-any-return]
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no engine or sqlalchemy.url given to alembic")
    return create_engine(url)


def run_migrations_online() -> None:
    with _engine().connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()

"""Alembic migrations, packaged so an installed vault can migrate its own database."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config

HERE = Path(__file__).resolve().parent

# The newest revision in versions/. Checked against Alembic's own view of the scripts by
# tests/vault/test_migrations.py, so a new migration cannot be added without it. It lets a
# database that is already current be recognised without loading Alembic and every script
# (a third of a second on each `evault` command against the embedded database).
HEAD = "0023"


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config  # noqa: PLC0415 - see HEAD

    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.attributes["engine"] = engine
    return config


def recorded_revision(engine: Engine) -> str | None:
    """The revision the database says it is at; None for a database never migrated. A
    database that cannot be reached raises (it is not "behind")."""
    with engine.connect() as connection:
        try:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except DBAPIError:
            return None  # no alembic_version table yet


def upgrade(engine: Engine) -> None:
    if recorded_revision(engine) == HEAD:
        return
    from alembic import command  # noqa: PLC0415 - see HEAD

    command.upgrade(alembic_config(engine), "head")


def is_current(engine: Engine) -> bool:
    return recorded_revision(engine) == HEAD

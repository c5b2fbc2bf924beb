"""Wiring at start-up: settings -> engine -> session factory -> stores."""

from __future__ import annotations

import contextlib
import grp
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

import migrations
from config.settings import Settings
from retention.policy import ensure_policy
from vault.db import make_engine, make_session_factory, unit_of_work
from vault.errors import ConfigurationError
from vault.stores.factory import Stores, open_stores


@dataclass(frozen=True)
class AppContext:
    settings: Settings
    engine: Engine
    factory: sessionmaker[Session]
    open_stores: Callable[[], Stores]

    @cached_property
    def stores(self) -> Stores:
        """Both stores, opened at the first use (a CLI command that reads only the database
        never contacts a bucket)."""
        return self.open_stores()


def open_context(
    settings: Settings,
    *,
    migrate: bool = False,
    verifying: bool = False,
    lazy_stores: bool = False,
    advise: bool = True,
) -> AppContext:
    """Connect; migrate when asked (``init``) or when the database is the embedded SQLite.

    The stores are opened (and an S3 bucket's promises checked) here, so a misconfigured
    store stops start-up, unless ``lazy_stores``: then at their first use. ``advise`` as for
    ``open_stores``."""
    _owner_only(settings.data_dir, settings.store_group)
    engine = make_engine(settings.database, pool_size=settings.db_pool_size)
    embedded = engine.dialect.name == "sqlite"
    if migrate or embedded:
        migrations.upgrade(engine)
    elif not migrations.is_current(engine):
        raise ConfigurationError(
            "the database schema is not at the current version: run `evault init`"
        )
    factory = make_session_factory(engine)
    _seed_retention_policy(factory, settings)
    context = AppContext(
        settings,
        engine,
        factory,
        lambda: open_stores(settings, lenient_access=verifying, advise=advise),
    )
    if not lazy_stores:
        _ = context.stores
    return context


def _owner_only(data_dir: Path, group: str | None) -> None:
    """The data directory holds the database, the keys and the default stores: the vault's
    account alone may list it; a store group may only pass through it to the stores."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(PermissionError, KeyError):  # not ours: doctor reports it
        if group:
            os.chown(data_dir, -1, grp.getgrnam(group).gr_gid)
        os.chmod(data_dir, 0o710 if group else 0o700)


def _seed_retention_policy(factory: sessionmaker[Session], settings: Settings) -> None:
    try:
        with unit_of_work(factory) as session:
            ensure_policy(session, unattached_years=settings.default_retention_years)
    except IntegrityError:
        pass  # another process recorded version 1 at the same moment

"""Declarative base, column types, engine and the unit of work.

Engines are made by ``make_engine`` at start-up, never at import. Services only flush; the
unit of work (``unit_of_work``) is the one place that commits.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, on every backend.

    SQLite has no time zone type and hands back naive values; custody hashing needs the
    exact same instant back, so values are normalised to UTC microseconds here.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _system_clock() -> datetime:
    return datetime.now(UTC)


# The one time source of the vault (no setting or request can move it). A module attribute
# rather than a direct call so that a test can run the vault's clock as if it were another
# day, with the stores and the S3 server still on real time.
clock: Callable[[], datetime] = _system_clock


def utcnow() -> datetime:
    """The vault's clock: it, not a device's or a client's, decides every time the vault
    records (docked-at, ingested-at, retention ends, custody times)."""
    return clock()


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UUIDPrimaryKey:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")  # custody commits must survive power loss
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=60000")
    cursor.close()


READ_ONLY = "evault_read_only"


def _sqlite_begin_immediate(conn: Any) -> None:
    # Take the write lock at BEGIN: a deferred transaction that later upgrades to a writer can
    # fail with SQLITE_BUSY without waiting, which would turn contention into errors. A unit of
    # work that only reads says so and begins deferred, so readers never queue behind writers.
    if conn.get_execution_options().get(READ_ONLY):
        conn.exec_driver_sql("BEGIN DEFERRED")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _owner_only_database(path: Path) -> None:
    """The SQLite file (and so its WAL and shared-memory files, which SQLite creates with the
    database's mode) readable by the vault's account alone: it names every recording."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(FileNotFoundError, PermissionError):
            os.chmod(file, 0o600)


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    """An engine whose pool holds ``pool_size`` connections plus as many again on demand.

    The overflow lets each of ``pool_size`` concurrent units of work open one nested unit (a
    delivery's custody event) without waiting for a connection another waiter holds.
    """
    pool = {"pool_size": pool_size, "max_overflow": pool_size, "pool_timeout": 60}
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            _owner_only_database(Path(path))
        else:
            pool = {}  # an in-memory database lives in one connection per thread
        engine = create_engine(url, connect_args={"isolation_level": None, "timeout": 60}, **pool)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    return create_engine(url, pool_pre_ping=True, **pool)


SessionFactory = Callable[[], Session]


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def unit_of_work(
    factory: SessionFactory, *, read_only: bool = False, snapshot: bool = False
) -> Iterator[Session]:
    """A request's or a job's transaction: commits on success, rolls back on any error.

    ``read_only`` units cannot write (PostgreSQL refuses; on SQLite they skip the write lock).
    ``snapshot`` units (read-only) see the database as it was at their first statement,
    whatever commits meanwhile: an audit's chain heads and entries must come from one moment,
    or the daemon's honest append between two statements reads as a broken chain. SQLite's
    read transaction is such a snapshot already; PostgreSQL's READ COMMITTED lets each
    statement see newer commits, so these run REPEATABLE READ (which a transaction that only
    reads can use without ever failing to serialise).
    """
    if snapshot and not read_only:
        raise ValueError("a snapshot unit of work only reads")
    session = factory()
    if read_only:
        options: dict[str, object] = {READ_ONLY: True}
        if session.get_bind().dialect.name == "postgresql":
            options["postgresql_readonly"] = True
            if snapshot:
                options["isolation_level"] = "REPEATABLE READ"
        session.connection(execution_options=options)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()

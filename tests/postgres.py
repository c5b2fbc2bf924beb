"""A throw-away database on the PostgreSQL server the tests run against.

The server is the one at 127.0.0.1:5432 unless EVAULT_TEST_POSTGRES names another admin URL.
Where no server is reachable the PostgreSQL runs are skipped, except when
EVAULT_TEST_REQUIRE_POSTGRES=1 (as in CI), where that is a failure: CI must run them.
"""

from __future__ import annotations

import functools
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

ADMIN_URL = os.environ.get(
    "EVAULT_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@functools.cache
def unreachable_reason() -> str | None:
    engine = create_engine(ADMIN_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as exc:
        return f"PostgreSQL at {ADMIN_URL} is not reachable: {exc.orig}"
    finally:
        engine.dispose()
    return None


def require_server() -> None:
    reason = unreachable_reason()
    if reason is None:
        return
    if os.environ.get("EVAULT_TEST_REQUIRE_POSTGRES") == "1":
        pytest.fail(reason + " (EVAULT_TEST_REQUIRE_POSTGRES=1: these tests must run)")
    pytest.skip(reason)


def url_of(name: str) -> str:
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


@contextmanager
def fresh_database(*, template: str | None = None) -> Iterator[str]:
    """Create a database (empty, or a copy of ``template``), yield its SQLAlchemy URL, drop it
    (even if still in use)."""
    require_server()
    name = f"evault_test_{secrets.token_hex(6)}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    copy_of = f' TEMPLATE "{template}"' if template else ""
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"{copy_of}'))
        yield url_of(name)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

"""Shared fixtures: a vault on real SQLite or PostgreSQL and real stores, real ffmpeg clips.

Every test that takes ``isolated_env`` (and so ``vault``) runs twice: on SQLite and on the
PostgreSQL server at 127.0.0.1:5432, each run in a database of its own. Each database starts
as a copy of one migrated template made once per session (a copied file for SQLite,
``CREATE DATABASE ... TEMPLATE`` on PostgreSQL), so the migrations run once, not per test;
tests/vault/test_migrations.py runs them from an empty database.

``run_cli`` runs `evault` in this process, through the console script's own ``main``; a test
whose point is a separate process (crash, memory, daemons, signals) starts one itself.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import secrets
import shutil
import subprocess
import sys
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

import migrations
from api.context import AppContext, open_context
from config.settings import S3StoreConfig, Settings, StationConfig
from ingest.pipeline import IngestContext
from ingest.runner import build_context, run_once
from tests.postgres import fresh_database
from tests.s3server import ACCESS_KEY, SECRET_KEY, S3Server, start_server
from tests.tsa import LocalTsa, local_tsa
from vault.db import make_engine, unit_of_work
from vault.models import EvidenceItem
from vault.synthetic import generate_clip

# Fixtures kept in their own modules, for every test directory.
pytest_plugins = ["tests.malware"]

REPO = Path(__file__).resolve().parent.parent
SQLITE_FILE = "evault.db"  # under data_dir, as config.settings.Settings.database names it

# The migrated SQLite template of this session (made by the autouse fixture below).
_sqlite_template: Path | None = None


@pytest.fixture(scope="session", autouse=True)
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    global _sqlite_template  # noqa: PLW0603 - make_vault is a plain function tests call
    path = tmp_path_factory.mktemp("template") / SQLITE_FILE
    engine = make_engine(f"sqlite:///{path.as_posix()}")
    migrations.upgrade(engine)
    engine.dispose()  # the last connection closing checkpoints the WAL into the file
    assert not path.with_name(SQLITE_FILE + "-wal").exists()
    _sqlite_template = path
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A migrated PostgreSQL database that every test's database is created from."""
    with fresh_database() as url:
        engine = make_engine(url)
        migrations.upgrade(engine)
        engine.dispose()  # CREATE DATABASE ... TEMPLATE needs it to have no connections
        yield url.rsplit("/", 1)[1]


@pytest.fixture(scope="session")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few distinct real MP4 clips made once per test session by ffmpeg."""
    directory = tmp_path_factory.mktemp("clips")
    for n in range(4):
        generate_clip(
            directory / f"clip{n}.mp4", seconds=1, frequency=300 + 100 * n, width=160, height=120
        )
    return directory


@dataclass
class Vault:
    root: Path
    station_dir: Path
    settings: Settings
    app: AppContext

    def ingest_context(self) -> IngestContext:
        return build_context(self.settings, self.app.factory, self.app.stores)

    def ingest(self) -> None:
        run_once(self.ingest_context(), workers=2)

    def items(self) -> list[EvidenceItem]:
        with unit_of_work(self.app.factory) as session:
            return list(session.execute(select(EvidenceItem)).scalars())

    def env(self) -> dict[str, str]:
        """Environment for running `evault` in a subprocess against this vault."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("EVAULT_")}
        for role in ("sealed_store", "access_store"):
            spec = getattr(self.settings, role)
            if isinstance(spec, S3StoreConfig):
                dumped = spec.model_dump(mode="json")
                dumped["secret_access_key"] = spec.secret_access_key.get_secret_value()  # type: ignore[union-attr]
                env[f"EVAULT_{role.upper()}"] = json.dumps(dumped)
        env.update(
            {
                "EVAULT_DATA_DIR": str(self.root / "data"),
                "EVAULT_STATIONS": json.dumps(
                    [s.model_dump(mode="json") for s in self.settings.stations]
                ),
                "EVAULT_SETTLE_SECONDS": "0",
                **(
                    {"EVAULT_DATABASE_URL": self.settings.database_url}
                    if self.settings.database_url
                    else {}
                ),
                "EVAULT_LOG_FORMAT": "json",
                "EVAULT_VIRUS_SCANNER": self.settings.virus_scanner,
                "EVAULT_CLAMSCAN_PATH": self.settings.clamscan_path,
                "EVAULT_SCANNER_UNAVAILABLE": self.settings.scanner_unavailable,
                **(
                    {"EVAULT_CLAMAV_DATABASE": str(self.settings.clamav_database)}
                    if self.settings.clamav_database
                    else {}
                ),
                "PYTHONPATH": str(REPO),
                "COLUMNS": "200",
            }
        )
        return env


def make_vault(
    root: Path,
    *,
    stations: int = 1,
    station_prefix: str = "",
    acknowledge: str = "move",
    **overrides: object,
) -> Vault:
    """A vault under ``root``; two vaults in one test share the database under test, so give
    the second its own ``station_prefix``."""
    station_dirs = []
    configs = []
    for n in range(stations):
        station_dir = root / f"station{n}"
        station_dir.mkdir(parents=True)
        station_dirs.append(station_dir)
        configs.append(
            StationConfig(
                name=f"{station_prefix}station{n}",
                path=station_dir,
                acknowledge=acknowledge,  # type: ignore[arg-type]
            )
        )
    # Tests that are not about the virus check do not depend on ClamAV being installed.
    options: dict[str, object] = {"settle_seconds": 0, "virus_scanner": "off", **overrides}
    settings = Settings(data_dir=root / "data", stations=configs, **options)  # type: ignore[arg-type]
    if settings.database_url is None and _sqlite_template is not None:
        database = settings.data_dir / SQLITE_FILE
        if not database.exists():
            database.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(_sqlite_template, database)
    app = open_context(settings, migrate=True)
    return Vault(root, station_dirs[0], settings, app)


def pytest_configure(config: pytest.Config) -> None:
    # pytest-xdist's workers start with COLUMNS=80 and LINES=24, and rich fixes a console's
    # width when it is created with COLUMNS set: `evault` run in-process must size its tables
    # from the environment each run gives it, as on a real terminal. (Before any test module
    # imports the CLI.)
    os.environ.pop("COLUMNS", None)
    os.environ.pop("LINES", None)
    config.addinivalue_line(
        "markers",
        "one_database: what the test checks does not depend on the database (memory, TLS,"
        " throttling, a scanner): it runs on the embedded SQLite only, not once per database",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "database_url" in metafunc.fixturenames:
        one = metafunc.definition.get_closest_marker("one_database") is not None
        databases = ["sqlite"] if one else ["sqlite", "postgresql"]
        metafunc.parametrize("database_url", databases, indirect=True)


@pytest.fixture
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None for the embedded SQLite default, or the URL of a new PostgreSQL database (a copy
    of the session's migrated template)."""
    if request.param == "sqlite":
        yield None
        return
    template = request.getfixturevalue("postgres_template")
    with fresh_database(template=template) as url:
        yield url


@pytest.fixture
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str | None) -> Path:
    """No EVAULT_* from the developer's shell and no ./evault.toml leak into a test; the
    database under test is passed the way an operator would, in EVAULT_DATABASE_URL."""
    for key in list(os.environ):
        if key.startswith("EVAULT_"):
            monkeypatch.delenv(key)
    if database_url is not None:
        monkeypatch.setenv("EVAULT_DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def vault(isolated_env: Path) -> Iterator[Vault]:
    v = make_vault(isolated_env)
    yield v
    v.app.engine.dispose()


def put_clip(clip_dir: Path, n: int, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(clip_dir / f"clip{n}.mp4", target)
    return target


def run_cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """`evault ARGS` as a person runs it in ``cwd`` with the environment ``env``: through the
    console script's ``main`` in this process (a fresh interpreter would spend seconds importing
    the CLI), with its own stdout, stderr, environment, working directory and logging, all
    put back afterwards. An uncaught exception ends it as the interpreter would: exit 1 and
    the traceback on stderr."""
    from api.cli.main import main  # noqa: PLC0415 - imported once, on first use

    out, errors = io.StringIO(), io.StringIO()
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    saved_levels = {
        name: logger.level
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(errors):
            try:
                main(args)
            except SystemExit as exc:
                code = _exit_status(exc.code)
            except Exception:
                traceback.print_exc()
                code = 1
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        os.chdir(saved_cwd)
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        for name, level in saved_levels.items():
            logging.getLogger(name).setLevel(level)
    return subprocess.CompletedProcess(["evault", *args], code, out.getvalue(), errors.getvalue())


def _exit_status(code: object) -> int:
    """What a process exits with for ``sys.exit(code)``: a message means 1 (and is printed)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


@pytest.fixture(scope="session")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTsa]:
    """The session's RFC 3161 time-stamping authority (tests that need an unreachable or an
    untrusted one start their own)."""
    with local_tsa(tmp_path_factory.mktemp("tsa")) as running:
        yield running


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    server = start_server(tmp_path_factory.mktemp("seaweedfs"))
    yield server
    server.stop()


@dataclass(frozen=True)
class Buckets:
    """A fresh Object Lock bucket for the sealed set and a versioned one for the access set."""

    sealed: S3StoreConfig
    access: S3StoreConfig
    plain: S3StoreConfig  # exists, but has neither Object Lock nor versioning


def s3_config(server: S3Server, bucket: str, **extra: object) -> S3StoreConfig:
    return S3StoreConfig.model_validate(
        {
            "bucket": bucket,
            "endpoint_url": server.endpoint,
            "region": "us-east-1",
            "addressing_style": "path",
            "access_key_id": ACCESS_KEY,
            "secret_access_key": SECRET_KEY,
            **extra,
        }
    )


@pytest.fixture
def buckets(s3_server: S3Server) -> Buckets:
    tag = secrets.token_hex(4)
    client = s3_server.client()
    client.create_bucket(Bucket=f"sealed-{tag}", ObjectLockEnabledForBucket=True)  # type: ignore[attr-defined]
    client.create_bucket(Bucket=f"access-{tag}")  # type: ignore[attr-defined]
    client.put_bucket_versioning(  # type: ignore[attr-defined]
        Bucket=f"access-{tag}", VersioningConfiguration={"Status": "Enabled"}
    )
    client.create_bucket(Bucket=f"plain-{tag}")  # type: ignore[attr-defined]
    return Buckets(
        sealed=s3_config(s3_server, f"sealed-{tag}", part_size_mib=5),
        access=s3_config(s3_server, f"access-{tag}", part_size_mib=5),
        plain=s3_config(s3_server, f"plain-{tag}"),
    )

"""Shared fixtures: a vault on real SQLite or PostgreSQL and real stores, real ffmpeg clips.

Every test that takes ``isolated_env`` (and so ``vault``) runs twice: on SQLite and on the
PostgreSQL server at 127.0.0.1:5432, each run in a database of its own.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from api.context import AppContext, open_context
from config.settings import S3StoreConfig, Settings, StationConfig
from ingest.pipeline import IngestContext
from ingest.runner import build_context, run_once
from tests.postgres import fresh_database
from tests.s3server import ACCESS_KEY, SECRET_KEY, S3Server, start_server
from vault.db import unit_of_work
from vault.models import EvidenceItem
from vault.synthetic import generate_clip

REPO = Path(__file__).resolve().parent.parent


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
    root: Path, *, stations: int = 1, station_prefix: str = "", **overrides: object
) -> Vault:
    """A vault under ``root``; two vaults in one test share the database under test, so give
    the second its own ``station_prefix``."""
    station_dirs = []
    configs = []
    for n in range(stations):
        station_dir = root / f"station{n}"
        station_dir.mkdir(parents=True)
        station_dirs.append(station_dir)
        configs.append(StationConfig(name=f"{station_prefix}station{n}", path=station_dir))
    # Tests that are not about the virus check do not depend on ClamAV being installed.
    options: dict[str, object] = {"settle_seconds": 0, "virus_scanner": "off", **overrides}
    settings = Settings(data_dir=root / "data", stations=configs, **options)  # type: ignore[arg-type]
    app = open_context(settings, migrate=True)
    return Vault(root, station_dirs[0], settings, app)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None for the embedded SQLite default, or the URL of a new PostgreSQL database."""
    if request.param == "sqlite":
        yield None
        return
    with fresh_database() as url:
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


def run_cli(
    args: list[str], env: dict[str, str], cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli.main", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


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

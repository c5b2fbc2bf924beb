"""`evault doctor` against real things: a healthy S3 deployment passes, each broken part fails
with its fix, and the exit status says which."""

from __future__ import annotations

import os
from pathlib import Path

from api.doctor import Status, run_checks
from config.settings import Settings, StationConfig
from tests.conftest import Buckets, make_vault, run_cli
from tests.postgres import fresh_database


def by_name(settings: Settings) -> dict[str, tuple[Status, str, str]]:
    return {c.name: (c.status, c.detail, c.fix) for c in run_checks(settings)}


def test_healthy_s3_deployment_passes(isolated_env: Path, buckets: Buckets) -> None:
    vault = make_vault(isolated_env, sealed_store=buckets.sealed, access_store=buckets.access)
    result = run_cli(["doctor"], vault.env(), vault.root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all checks passed" in result.stdout
    checks = by_name(vault.settings)
    assert checks["sealed retention lock"][0] == Status.PASS
    assert "Object Lock is enforced" in checks["sealed retention lock"][1]
    assert checks["database migrated"][0] == Status.PASS
    assert checks["sealed bucket"][0] == Status.PASS
    assert all(status != Status.FAIL for status, _, _ in checks.values())
    vault.app.engine.dispose()


def test_each_broken_part_fails_with_its_fix(buckets: Buckets, tmp_path: Path) -> None:
    with fresh_database() as url:  # reachable, never migrated
        settings = Settings(
            data_dir=tmp_path / "data",
            database_url=url,
            sealed_store=buckets.plain,  # no Object Lock, not versioned
            access_store=tmp_path / "access",
            stations=[StationConfig(name="gone", path=tmp_path / "not-mounted")],
        )
        checks = by_name(settings)
    assert checks["database reachable"][0] == Status.PASS
    assert checks["database migrated"][:1] == (Status.FAIL,)
    assert checks["database migrated"][2] == "run `evault init`"
    status, detail, _ = checks["sealed bucket"]
    assert status == Status.FAIL and "no Object Lock" in detail and "--object-lock" in detail
    assert checks["sealed retention lock"][0] == Status.FAIL
    assert checks["station gone"][0] == Status.FAIL
    assert "mount" in checks["station gone"][2]
    assert checks["ffmpeg"][0] == Status.PASS


def test_unreachable_database_is_a_failing_exit(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVAULT_")}
    env["EVAULT_DATABASE_URL"] = "postgresql+psycopg://postgres@127.0.0.1:1/none"
    env["EVAULT_DATA_DIR"] = str(tmp_path / "data")
    env["COLUMNS"] = "200"
    result = run_cli(["doctor"], env, tmp_path)
    assert result.returncode == 1
    assert "database reachable" in result.stdout and "FAIL" in result.stdout
    assert "check(s) failed" in result.stderr

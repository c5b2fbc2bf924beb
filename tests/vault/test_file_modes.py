"""Files readable outside custody (issue 17): after a real ingest under umask 022, every object,
directory, the SQLite database and its WAL, and the signing keys are the vault account's alone;
`evault doctor` passes, and fails naming any file a later copy or restore made wider."""

from __future__ import annotations

import grp
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.doctor import Status, run_checks
from tests.conftest import make_vault, put_clip, run_cli

pytestmark = pytest.mark.one_database  # the SQLite file's own mode is part of the subject


@pytest.fixture
def umask_022() -> Iterator[None]:
    before = os.umask(0o022)  # what a default login gives the vault's service
    try:
        yield
    finally:
        os.umask(before)


def wider_than_owner(root: Path) -> list[str]:
    found = []
    for directory, _, files in os.walk(root):
        for path in [Path(directory), *(Path(directory) / f for f in files)]:
            mode = stat.S_IMODE(path.lstat().st_mode)
            if mode & 0o077:
                found.append(f"{path.relative_to(root)} {mode:04o}")
    return found


def test_everything_the_vault_writes_is_owner_only(
    umask_022: None, isolated_env: Path, clip_dir: Path
) -> None:
    vault = make_vault(isolated_env)
    put_clip(clip_dir, 0, vault.station_dir / "CAM1" / "a.mp4")
    (vault.station_dir / "CAM1" / "a.mp4.json").write_text(json.dumps({"officer": "P1"}))
    vault.ingest()
    assert run_cli(["checkpoint"], vault.env(), vault.root).returncode == 0  # writes keys
    data = vault.settings.data_dir
    assert (data / "evault.db-wal").exists()  # the WAL is there, and covered
    assert wider_than_owner(data) == []
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    (item,) = vault.items()
    assert stat.S_IMODE(os.stat(item.sealed_locator).st_mode) == 0o400

    checks = {c.name: c for c in run_checks(vault.settings)}
    assert checks["file modes"].status == Status.PASS
    os.chmod(item.access_locator, 0o444)  # as a careless restore from backup would leave it
    failed = {c.name: c for c in run_checks(vault.settings)}["file modes"]
    assert failed.status == Status.FAIL
    assert item.access_locator in failed.detail and "0444" in failed.detail
    assert "chmod" in failed.fix
    vault.app.engine.dispose()


def test_a_store_group_may_read_and_nobody_else(
    umask_022: None, isolated_env: Path, clip_dir: Path
) -> None:
    group = os.getgid()  # a group this account is in (a backup operator's, in production)
    vault = make_vault(isolated_env, store_group=grp.getgrgid(group).gr_name)
    put_clip(clip_dir, 0, vault.station_dir / "CAM1" / "a.mp4")
    vault.ingest()
    (item,) = vault.items()
    assert stat.S_IMODE(os.stat(item.sealed_locator).st_mode) == 0o440
    assert stat.S_IMODE(os.stat(Path(item.sealed_locator).parent).st_mode) == 0o750
    assert os.stat(item.sealed_locator).st_gid == group
    assert {c.name: c for c in run_checks(vault.settings)}["file modes"].status == Status.PASS
    vault.app.engine.dispose()

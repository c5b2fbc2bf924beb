"""The vault on S3: both sets on S3, and the mixed deployments (one set on S3, one on disk).

Each runs a real ingest of real clips, then `evault verify` in a subprocess, on SQLite and on
PostgreSQL. The attacks at the end are what an S3 admin key can still do to a locked bucket."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import Buckets, Vault, make_vault, put_clip, run_cli
from vault.models import MediaStatus
from vault.stores.s3 import S3Store

LAYOUTS = {
    "sealed-s3+access-s3": ("s3", "s3"),
    "sealed-s3+access-fs": ("s3", "fs"),
    "sealed-fs+access-s3": ("fs", "s3"),
}


def s3_vault(root: Path, buckets: Buckets, sealed: str, access: str) -> Vault:
    overrides: dict[str, object] = {}
    if sealed == "s3":
        overrides["sealed_store"] = buckets.sealed
    if access == "s3":
        overrides["access_store"] = buckets.access
    return make_vault(root, **overrides)


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_ingest_and_verify(
    isolated_env: Path, buckets: Buckets, clip_dir: Path, layout: str
) -> None:
    sealed_kind, access_kind = LAYOUTS[layout]
    vault = s3_vault(isolated_env, buckets, sealed_kind, access_kind)
    for n in range(2):
        put_clip(clip_dir, n, vault.station_dir / "CAM1" / f"clip{n}.mp4")
    vault.ingest()
    items = vault.items()
    assert len(items) == 2
    for item in items:
        # Probing read the sealed copy through the store (ranged GETs on S3).
        assert item.media_status == MediaStatus.PROBED
        assert item.sealed_locator.startswith("s3://") == (sealed_kind == "s3")
        assert item.access_locator.startswith("s3://") == (access_kind == "s3")
        assert item.retain_until is not None
        assert item.retain_until > datetime.now(UTC) + timedelta(days=365 * 29)
        sealed = vault.app.stores.sealed
        if isinstance(sealed, S3Store):
            head = sealed.client.head_object(Bucket=sealed.bucket, Key=sealed.key_for(item.digest))
            assert head["ObjectLockMode"] == "COMPLIANCE"
            assert head["ObjectLockRetainUntilDate"] >= item.retain_until
    assert list((vault.station_dir / "CAM1").glob("*.mp4")) == []  # acknowledged
    result = run_cli(["verify"], vault.env(), vault.root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK 2 item(s)" in result.stdout
    vault.app.engine.dispose()


@pytest.fixture
def s3_ingested(isolated_env: Path, buckets: Buckets, clip_dir: Path) -> Vault:
    vault = s3_vault(isolated_env, buckets, "s3", "s3")
    for n in range(2):
        put_clip(clip_dir, n, vault.station_dir / "CAM1" / f"clip{n}.mp4")
    vault.ingest()
    return vault


def verify_names(vault: Vault, item_id: str) -> str:
    result = run_cli(["verify"], vault.env(), vault.root)
    assert result.returncode == 1, result.stdout + result.stderr
    assert any(item_id in line for line in result.stdout.splitlines() if "FAIL" in line)
    return result.stdout


def test_new_version_over_a_sealed_object(s3_ingested: Vault) -> None:
    item = s3_ingested.items()[0]
    sealed = s3_ingested.app.stores.sealed
    assert isinstance(sealed, S3Store)
    # Object Lock keeps the original version; a key holder can still add a newer one.
    sealed.client.put_object(Bucket=sealed.bucket, Key=sealed.key_for(item.digest), Body=b"fake")
    verify_names(s3_ingested, str(item.id))


def test_delete_marker_hiding_an_access_object(s3_ingested: Vault) -> None:
    item = s3_ingested.items()[1]
    access = s3_ingested.app.stores.access
    assert isinstance(access, S3Store)
    access.client.delete_object(Bucket=access.bucket, Key=access.key_for(item.digest))
    verify_names(s3_ingested, str(item.id))

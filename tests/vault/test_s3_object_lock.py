"""Object Lock on a real S3 server: what the server itself refuses, and how the vault reports it.

Each attack is tried twice: with a raw S3 client holding the vault's own key (the server must
refuse), and through the store (the refusal must arrive as RetentionViolation, not a crash)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from config.settings import Settings
from tests.conftest import Buckets, run_cli
from vault.errors import ConfigurationError, RetentionViolation
from vault.stores.factory import open_stores
from vault.stores.protocol import DestructionOrder, Retention
from vault.stores.s3 import S3Store


@pytest.fixture
def sealed(buckets: Buckets) -> tuple[S3Store, str, Any]:
    store = S3Store(buckets.sealed, name="sealed", lock_mode="COMPLIANCE")
    until = datetime.now(UTC) + timedelta(days=30)
    digest = store.put([b"sealed evidence"], retention=Retention(until=until)).digest
    head = store.client.head_object(Bucket=store.bucket, Key=store.key_for(digest))
    return store, digest, head


def lock_of(store: S3Store, digest: str) -> tuple[str, datetime]:
    head = store.client.head_object(Bucket=store.bucket, Key=store.key_for(digest))
    return head["ObjectLockMode"], head["ObjectLockRetainUntilDate"]


def test_sealed_object_is_locked_in_compliance_mode(sealed: tuple[S3Store, str, Any]) -> None:
    _, _, head = sealed
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert head["ObjectLockRetainUntilDate"] > datetime.now(UTC) + timedelta(days=29)


def test_deleting_a_sealed_version_is_refused(sealed: tuple[S3Store, str, Any]) -> None:
    store, digest, head = sealed
    with pytest.raises(ClientError) as refused:
        store.client.delete_object(
            Bucket=store.bucket, Key=store.key_for(digest), VersionId=head["VersionId"]
        )
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(RetentionViolation, match="refused to delete"):
        store.delete(digest, order=DestructionOrder(digest, "register-1"))
    assert store.exists(digest)


def test_shortening_retention_is_refused(sealed: tuple[S3Store, str, Any]) -> None:
    store, digest, head = sealed
    before = lock_of(store, digest)
    shorter = datetime.now(UTC) + timedelta(days=1)
    with pytest.raises(ClientError):
        store.client.put_object_retention(
            Bucket=store.bucket,
            Key=store.key_for(digest),
            VersionId=head["VersionId"],
            Retention={"Mode": "COMPLIANCE", "RetainUntilDate": shorter},
        )
    with pytest.raises(RetentionViolation, match="refused to change the retention"):
        store.set_retention(digest, until=shorter, hold=False)
    assert lock_of(store, digest) == before


def test_switching_compliance_to_governance_is_refused(
    sealed: tuple[S3Store, str, Any], buckets: Buckets
) -> None:
    store, digest, head = sealed
    before = lock_of(store, digest)
    later = before[1] + timedelta(days=1)
    with pytest.raises(ClientError):
        store.client.put_object_retention(
            Bucket=store.bucket,
            Key=store.key_for(digest),
            VersionId=head["VersionId"],
            BypassGovernanceRetention=True,
            Retention={"Mode": "GOVERNANCE", "RetainUntilDate": later},
        )
    # A vault reconfigured (or an attacker's copy of it) with GOVERNANCE for the same bucket.
    governance = S3Store(buckets.sealed, name="sealed", lock_mode="GOVERNANCE")
    with pytest.raises(RetentionViolation):
        governance.set_retention(digest, until=later, hold=False)
    assert lock_of(store, digest) == before


def test_extension_is_accepted(sealed: tuple[S3Store, str, Any]) -> None:
    store, digest, _ = sealed
    later = lock_of(store, digest)[1] + timedelta(days=365)
    store.set_retention(digest, until=later, hold=False)
    assert lock_of(store, digest) == ("COMPLIANCE", later)


def test_permanent_item_gets_a_legal_hold(buckets: Buckets) -> None:
    store = S3Store(buckets.sealed, name="sealed", lock_mode="COMPLIANCE")
    digest = store.put([b"keep forever"], retention=Retention(until=None)).digest
    head = store.client.head_object(Bucket=store.bucket, Key=store.key_for(digest))
    assert head["ObjectLockLegalHoldStatus"] == "ON"


@pytest.mark.parametrize(("mode", "expected"), [("GOVERNANCE", "GOVERNANCE"), ("none", None)])
def test_access_bucket_lock_mode_is_configurable(
    buckets: Buckets, mode: str, expected: str | None
) -> None:
    config = buckets.access.model_copy(update={"lock_mode": mode})
    if mode == "GOVERNANCE":  # a lock mode needs a bucket created with Object Lock
        config = config.model_copy(update={"bucket": f"{config.bucket}-gov"})
        S3Store(config, name="access", lock_mode="none").client.create_bucket(
            Bucket=config.bucket, ObjectLockEnabledForBucket=True
        )
    settings = Settings(
        data_dir=Path("/nonexistent"), sealed_store=buckets.sealed, access_store=config
    )
    access = open_stores(settings).access
    assert isinstance(access, S3Store)
    until = datetime.now(UTC) + timedelta(days=1)
    digest = access.put([b"working copy"], retention=Retention(until=until)).digest
    head = access.client.head_object(Bucket=access.bucket, Key=access.key_for(digest))
    assert head.get("ObjectLockMode") == expected


def test_start_up_refuses_a_sealed_bucket_without_object_lock(
    buckets: Buckets, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path, sealed_store=buckets.plain)
    with pytest.raises(ConfigurationError, match="has no Object Lock enabled") as refused:
        open_stores(settings)
    assert "\n" not in str(refused.value)


def test_cli_says_so_in_one_line(buckets: Buckets, tmp_path: Path) -> None:
    plain = buckets.plain.model_dump(mode="json")
    plain["secret_access_key"] = buckets.plain.secret_access_key.get_secret_value()  # type: ignore[union-attr]
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVAULT_")}
    env.update(
        {"EVAULT_DATA_DIR": str(tmp_path / "data"), "EVAULT_SEALED_STORE": json.dumps(plain)}
    )
    # `verify` reads the stores (a command that reads only the database, like `list`, never
    # opens them); the daemon and the API open them at start-up.
    result = run_cli(["verify"], env, tmp_path)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "has no Object Lock enabled" in lines[0], result.stderr
    assert plain["secret_access_key"] not in result.stderr + result.stdout


def test_sealed_store_must_be_compliance(buckets: Buckets, tmp_path: Path) -> None:
    governance = buckets.sealed.model_copy(update={"lock_mode": "GOVERNANCE"})
    with pytest.raises(ValueError, match="must be COMPLIANCE"):
        Settings(data_dir=tmp_path, sealed_store=governance)

"""The sealed store against an insider holding the vault's own S3 keys (issue 18), on a real
SeaweedFS server with Object Lock: a raw boto3 client with the vault's credentials tries what
an insider would, and the server or the vault's checks must stop or report each attempt."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from sqlalchemy import select, update

from api.doctor import Status, run_checks
from config.settings import S3StoreConfig
from custody.fixity.checks import Outcome, check, track_new_objects
from custody.fixity.models import CopyKind
from custody.log.append import events_for
from custody.log.proof_models import Checkpoint
from ingest.renditions import render_pending
from tests.conftest import Buckets, Vault, make_vault, put_clip, run_cli, s3_config
from tests.s3server import S3Server
from vault.alerts import recent_alerts
from vault.db import unit_of_work
from vault.models import EvidenceItem
from vault.stores.protocol import Retention
from vault.stores.s3 import S3Store

FOREVER = Retention(until=None, hold=True)  # what checkpoints and registers are kept with


def s3_vault(isolated_env: Path, buckets: Buckets, clip_dir: Path) -> Vault:
    vault = make_vault(isolated_env, sealed_store=buckets.sealed, access_store=buckets.access)
    put_clip(clip_dir, 0, vault.station_dir / "CAM1" / "CAM1_P1001_20261124T093000.mp4")
    vault.ingest()
    return vault


def s3_vault_of_two(
    isolated_env: Path, buckets: Buckets, clip_dir: Path
) -> tuple[Vault, EvidenceItem, EvidenceItem]:
    """A vault on S3 with two recordings ingested, the first recorded first."""
    vault = s3_vault(isolated_env, buckets, clip_dir)
    put_clip(clip_dir, 1, vault.station_dir / "CAM1" / "CAM1_P1001_20261124T100000.mp4")
    vault.ingest()
    first, second = sorted(vault.items(), key=lambda i: i.original_name)
    return vault, first, second


def s3_stores(vault: Vault) -> tuple[S3Store, S3Store]:
    sealed, access = vault.app.stores.sealed, vault.app.stores.access
    assert isinstance(sealed, S3Store) and isinstance(access, S3Store)
    return sealed, access


def hold_off_then_delete(store: S3Store, key: str, *, not_ours: tuple[str, ...] = ()) -> str:
    """The insider's attempt: switch the legal hold off (allowed), then delete every version
    the vault wrote (``not_ours``: versions the insider wrote). Returns the refusal's code."""
    client: Any = store.client
    versions = client.list_object_versions(Bucket=store.bucket, Prefix=key)["Versions"]
    codes = []
    for version in (v for v in versions if v["VersionId"] not in not_ours):
        where = {"Bucket": store.bucket, "Key": key, "VersionId": version["VersionId"]}
        client.put_object_legal_hold(**where, LegalHold={"Status": "OFF"})
        with pytest.raises(ClientError) as refused:
            client.delete_object(**where)
        codes.append(refused.value.response["Error"]["Code"])
    assert codes, f"no version of {key}"
    return codes[0]


def test_a_checkpoint_kept_forever_survives_its_hold_being_switched_off(
    isolated_env: Path, buckets: Buckets, clip_dir: Path
) -> None:
    vault = s3_vault(isolated_env, buckets, clip_dir)
    assert run_cli(["checkpoint"], vault.env(), vault.root).returncode == 0
    with unit_of_work(vault.app.factory, read_only=True) as session:
        digest = session.execute(select(Checkpoint.sealed_digest)).scalars().first()
    assert digest is not None
    sealed = vault.app.stores.sealed
    assert isinstance(sealed, S3Store)
    lock = sealed.retention(digest)
    assert lock is not None and lock.hold
    assert lock.until is not None and lock.until > datetime.now(UTC) + timedelta(days=365 * 99)
    assert hold_off_then_delete(sealed, sealed.key_for(digest)) == "AccessDenied"
    assert sealed.exists(digest)
    vault.app.engine.dispose()


def test_registers_and_repaired_permanent_copies_carry_a_date_as_well(buckets: Buckets) -> None:
    sealed = S3Store(buckets.sealed, name="sealed", lock_mode="COMPLIANCE")
    # A destruction register is kept exactly as retention.destruction keeps it.
    register = sealed.put([b"destruction register R-1"], retention=FOREVER).digest
    assert hold_off_then_delete(sealed, sealed.key_for(register)) == "AccessDenied"
    # A permanent item's copy repaired by fixity: a new version written by restore.
    original = sealed.put([b"permanent item"], retention=Retention(until=None)).digest
    client: Any = sealed.client
    key = sealed.key_for(original)
    forged = client.put_object(Bucket=sealed.bucket, Key=key, Body=b"forged")["VersionId"]
    sealed.restore(original, iter([b"permanent item"]), retention=Retention(until=None))
    assert hold_off_then_delete(sealed, key, not_ours=(forged,)) == "AccessDenied"


def test_a_held_items_hold_switched_off_fails_verify(
    isolated_env: Path, buckets: Buckets, clip_dir: Path
) -> None:
    vault = s3_vault(isolated_env, buckets, clip_dir)
    (item,) = vault.items()
    env = vault.env()
    place_hold(vault, item.digest)
    assert run_cli(["verify", "--no-rehash"], env, vault.root).returncode == 0
    sealed = vault.app.stores.sealed
    assert isinstance(sealed, S3Store)
    client: Any = sealed.client
    client.put_object_legal_hold(Bucket=sealed.bucket, Key=sealed.key_for(item.digest),
                                 LegalHold={"Status": "OFF"})  # fmt: skip
    verified = run_cli(["verify", "--no-rehash"], env, vault.root)
    said = " ".join(verified.stdout.split())
    assert verified.returncode == 1, said
    assert "sealed copy of an item under legal hold (order 7/2026) carries no legal hold" in said
    outcome = fixity(vault, item.id, CopyKind.SEALED)  # the scheduled check says so too
    assert outcome.intact and "its legal hold was switched off" in outcome.detail, outcome
    vault.app.engine.dispose()


def place_hold(vault: Vault, digest: str) -> None:
    env = vault.env()
    assert run_cli(["user", "add", "judge", "-r", "approver"], env, vault.root).returncode == 0
    token = run_cli(["token", "issue", "judge"], env, vault.root).stdout.split()[-1]
    hold = ["hold", "place", digest[:12], "-m", "appeal pending",
            "--reference", "order 7/2026", "--token", token]  # fmt: skip
    placed = run_cli(hold, env, vault.root)
    assert placed.returncode == 0, placed.stdout + placed.stderr


def governance_access(buckets: Buckets, s3_server: S3Server) -> S3StoreConfig:
    """An access bucket that enforces locks in GOVERNANCE mode: an insider allowed to bypass
    governance can delete a locked version, which a COMPLIANCE bucket never allows."""
    name = f"{buckets.access.bucket}-gov"
    client: Any = s3_server.client()
    client.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    return s3_config(s3_server, name, lock_mode="GOVERNANCE")


def fixity(vault: Vault, item_id: Any, copy: CopyKind) -> Outcome:
    with unit_of_work(vault.app.factory) as session:
        track_new_objects(session)
    return check(vault.app.factory, vault.app.stores, item_id, copy.value,
                 chunk_size=vault.settings.chunk_size)  # fmt: skip


def test_a_repair_of_a_held_item_keeps_its_hold(
    isolated_env: Path, buckets: Buckets, s3_server: S3Server, clip_dir: Path
) -> None:
    access_config = governance_access(buckets, s3_server)
    vault = make_vault(isolated_env, sealed_store=buckets.sealed, access_store=access_config)
    put_clip(clip_dir, 0, vault.station_dir / "CAM1" / "CAM1_P1001_20261124T093000.mp4")
    vault.ingest()
    (item,) = vault.items()
    place_hold(vault, item.digest)
    access = vault.app.stores.access
    assert isinstance(access, S3Store)
    recorded = access.recorded_version(item.digest, item.access_locator)
    where = {"Bucket": access.bucket, "Key": access.key_for(item.digest), "VersionId": recorded}
    client: Any = access.client
    client.put_object_legal_hold(**where, LegalHold={"Status": "OFF"})
    client.delete_object(**where, BypassGovernanceRetention=True)
    outcome = fixity(vault, item.id, CopyKind.ACCESS)
    assert outcome.repaired, outcome
    (repaired,) = vault.items()
    assert repaired.access_locator != item.access_locator  # the repair is now the recorded one
    lock = access.retention(item.digest)
    assert lock is not None and lock.hold, lock
    vault.app.engine.dispose()


def test_what_is_placed_over_the_recorded_versions_is_reported_not_read(
    isolated_env: Path, buckets: Buckets, clip_dir: Path
) -> None:
    """A forgery (another recording's bytes) over the sealed key and a delete marker over the
    access copy: the recorded versions are intact, so both copies are, and the tampering is
    reported by fixity (custody entries, an alert) and by verify."""
    vault, first, second = s3_vault_of_two(isolated_env, buckets, clip_dir)
    sealed, access = s3_stores(vault)
    client: Any = sealed.client
    with sealed.open(second.digest) as other:
        client.put_object(Bucket=sealed.bucket, Key=sealed.key_for(first.digest), Body=other.read())
    client.delete_object(Bucket=access.bucket, Key=access.key_for(first.digest))
    assert not access.exists(first.digest)  # the newest is a delete marker
    # ffmpeg is handed the recorded version as well: both renditions are made.
    assert render_pending(vault.ingest_context()) == (2, 0)

    for copy, said in ((CopyKind.SEALED, f"a newer version ({second.size} bytes) was placed"),
                       (CopyKind.ACCESS, "a delete marker was placed over it")):  # fmt: skip
        outcome = fixity(vault, first.id, copy)
        assert outcome.intact and not outcome.repaired, outcome
        assert said in outcome.detail
    with unit_of_work(vault.app.factory, read_only=True) as session:
        kinds = [e.kind for e in events_for(session, first.id)][-2:]
    assert kinds == ["fixity_ok", "fixity_ok"]
    reported_as_intact(
        vault,
        "sealed copy: a newer version",
        "access copy: a delete marker was placed over it",
        "the recorded version is intact",
    )
    vault.app.engine.dispose()


def reported_as_intact(vault: Vault, *said_by_verify: str) -> None:
    """Two store_tampering alerts (one per copy), each saying the recorded version is
    intact, and verify failing with each of ``said_by_verify``, yet nothing altered or
    missing."""
    with unit_of_work(vault.app.factory, read_only=True) as session:
        alerts = [a.message for a in recent_alerts(session) if a.kind == "store_tampering"]
    assert len(alerts) == 2 and all("the recorded version is intact" in a for a in alerts)
    verified = run_cli(["verify"], vault.env(), vault.root)
    said = " ".join(verified.stdout.split())
    assert verified.returncode == 1
    for phrase in said_by_verify:
        assert phrase in said, said
    assert "altered" not in said and "missing" not in said


def test_what_is_done_to_a_pointer_is_reported_by_fixity_and_verify(
    isolated_env: Path, buckets: Buckets, clip_dir: Path
) -> None:
    """The pointers at the content addresses, each of which names the upload holding an
    item's bytes: a pointer to another recording's upload placed over the sealed one, a
    delete marker over the access one, and the sealed bytes' lock extended past their
    pointer's. The recorded versions are intact, so both copies are; each change is reported
    by fixity (an alert) and by verify, since it hides the bytes from every lookup by digest."""
    vault, first, second = s3_vault_of_two(isolated_env, buckets, clip_dir)
    sealed, access = s3_stores(vault)
    for copy in (CopyKind.SEALED, CopyKind.ACCESS):
        assert fixity(vault, first.id, copy).detail == ""  # the vault's own pointers pass
    client: Any = sealed.client
    upload = sealed.key_for(first.digest)
    client.put_object(
        Bucket=sealed.bucket, Key=sealed.content_key(first.digest), Body=b"",
        Metadata={"evault-key": sealed.key_for(second.digest)},
    )  # fmt: skip
    assert sealed.key_for(first.digest) != upload  # lookups by digest now find the other
    client.delete_object(Bucket=access.bucket, Key=access.content_key(first.digest))
    assert not access.exists(first.digest)
    recorded = sealed.recorded_version(first.digest, first.sealed_locator)
    later = datetime.now(UTC).replace(microsecond=0) + timedelta(days=40 * 366)
    client.put_object_retention(
        Bucket=sealed.bucket, Key=upload, VersionId=recorded,
        Retention={"Mode": "COMPLIANCE", "RetainUntilDate": later},
    )  # fmt: skip

    for copy, said in (
        (CopyKind.SEALED, "a newer version (0 bytes) was placed over its pointer at the content"),
        (CopyKind.SEALED, "its pointer at the content address is locked until"),
        (CopyKind.ACCESS, "a delete marker was placed over its pointer at the content address"),
    ):
        outcome = fixity(vault, first.id, copy)
        assert outcome.intact and not outcome.repaired, outcome
        assert said in outcome.detail, outcome.detail
    reported_as_intact(
        vault,
        "sealed copy: a newer version (0 bytes) was placed over its pointer",
        "sealed copy: its pointer at the content address is locked until",
        "access copy: a delete marker was placed over its pointer",
    )
    vault.app.engine.dispose()


def test_a_deleted_access_version_is_repaired_from_the_sealed_recorded_version(
    isolated_env: Path, buckets: Buckets, clip_dir: Path
) -> None:
    """The access copy's recorded version deleted and a forgery put on both keys: the repair
    reads the sealed recorded version (not the forgery over it) and records the new one."""
    vault = s3_vault(isolated_env, buckets, clip_dir)
    (item,) = vault.items()
    sealed, access = vault.app.stores.sealed, vault.app.stores.access
    assert isinstance(sealed, S3Store) and isinstance(access, S3Store)
    client: Any = access.client
    recorded = access.recorded_version(item.digest, item.access_locator)
    client.delete_object(Bucket=access.bucket, Key=access.key_for(item.digest), VersionId=recorded)
    for store in (sealed, access):
        client.put_object(Bucket=store.bucket, Key=store.key_for(item.digest), Body=b"forged")
    outcome = fixity(vault, item.id, CopyKind.ACCESS)
    assert outcome.repaired, outcome
    again = fixity(vault, item.id, CopyKind.ACCESS)
    assert again.intact and again.detail == "", again  # the repair is the recorded version now
    (after,) = vault.items()
    with access.open(item.digest, locator=after.access_locator) as stream:
        assert hashlib.sha256(stream.read()).hexdigest() == item.digest
    vault.app.engine.dispose()


def test_a_lifecycle_rule_on_either_bucket_fails_doctor_with_the_fix(
    isolated_env: Path, buckets: Buckets, clip_dir: Path
) -> None:
    vault = s3_vault(isolated_env, buckets, clip_dir)
    client: Any = S3Store(buckets.sealed, name="sealed", lock_mode="COMPLIANCE").client
    for bucket in (buckets.sealed.bucket, buckets.access.bucket):
        client.put_bucket_lifecycle_configuration(
            Bucket=bucket,
            LifecycleConfiguration={"Rules": [
                {"ID": "tidy-up", "Status": "Enabled", "Filter": {"Prefix": ""},
                 "Expiration": {"Days": 30}, "NoncurrentVersionExpiration": {"NoncurrentDays": 1}},
            ]},
        )  # fmt: skip
    checks = {c.name: c for c in run_checks(vault.settings)}
    for role, bucket in (("sealed", buckets.sealed.bucket), ("access", buckets.access.bucket)):
        check = checks[f"{role} bucket"]
        assert check.status == Status.FAIL, check
        assert "lifecycle rules that expire or move objects (tidy-up: Expiration" in check.detail
        assert f"delete-bucket-lifecycle --bucket {bucket}" in check.detail
    vault.app.engine.dispose()


def test_a_suspended_access_bucket_does_not_stop_verification_of_the_sealed_set(
    isolated_env: Path, buckets: Buckets, clip_dir: Path
) -> None:
    vault = s3_vault(isolated_env, buckets, clip_dir)
    client: Any = S3Store(buckets.access, name="access", lock_mode="none").client
    client.put_bucket_versioning(Bucket=buckets.access.bucket,
                                 VersioningConfiguration={"Status": "Suspended"})  # fmt: skip
    verified = run_cli(["verify"], vault.env(), vault.root)
    said = " ".join(verified.stdout.split())
    assert verified.returncode == 1, said + verified.stderr
    assert f"access store: bucket '{buckets.access.bucket}'" in said
    assert "is not versioned" in said
    assert "1 item" in said  # the sealed set was still checked
    # Doctor's write probe on the suspended bucket reports, cleans up, and does not crash.
    checks = {c.name: c for c in run_checks(vault.settings)}
    assert checks["access store writable"].status == Status.WARN
    assert "keeps no versions" in checks["access store writable"].detail
    left = client.list_object_versions(Bucket=buckets.access.bucket, Prefix="incoming/doctor-")
    assert not left.get("Versions"), left
    vault.app.engine.dispose()


def test_doctor_names_a_sealed_bucket_without_object_lock(buckets: Buckets, tmp_path: Path) -> None:
    from config.settings import Settings  # noqa: PLC0415

    settings = Settings(data_dir=tmp_path / "data", sealed_store=buckets.plain,
                        access_store=tmp_path / "access")  # fmt: skip
    check = {c.name: c for c in run_checks(settings)}["sealed retention lock"]
    assert check.status == Status.FAIL
    assert "has no Object Lock, so nothing in it can be locked" in check.detail
    assert "InvalidRequest" not in check.detail


def test_a_forever_date_is_pushed_out_once_half_of_it_has_passed(buckets: Buckets) -> None:
    """Renewal without waiting fifty years: a date 10 years ahead is more than half gone for a
    store whose forever is 30 years, so re-applying the lock pushes it to about 30."""
    short = S3Store(buckets.sealed.model_copy(update={"forever_years": 10}), name="sealed",
                    lock_mode="COMPLIANCE")  # fmt: skip
    digest = short.put([b"a checkpoint note"], retention=FOREVER).digest
    first = short.retention(digest)
    assert first is not None and first.until is not None
    assert first.until < datetime.now(UTC) + timedelta(days=365.25 * 10 + 2)
    long = S3Store(buckets.sealed.model_copy(update={"forever_years": 30}), name="sealed",
                   lock_mode="COMPLIANCE")  # fmt: skip
    long.set_retention(digest, until=None, hold=True)
    renewed = long.retention(digest)
    assert renewed is not None and renewed.hold and renewed.until is not None
    assert renewed.until > datetime.now(UTC) + timedelta(days=365.25 * 29)
    long.set_retention(digest, until=None, hold=True)  # not due again: nothing rewritten
    assert long.retention(digest) == renewed


def test_verify_reads_the_version_the_chain_recorded_not_the_row(
    isolated_env: Path, buckets: Buckets, clip_dir: Path
) -> None:
    """An insider places a forgery over the sealed key and points the item row at it: verify
    checks the version the chain's `sealed` entry recorded, and names the edited row."""
    vault = s3_vault(isolated_env, buckets, clip_dir)
    (item,) = vault.items()
    sealed = vault.app.stores.sealed
    assert isinstance(sealed, S3Store)
    client: Any = sealed.client
    key = sealed.key_for(item.digest)
    forged = client.put_object(Bucket=sealed.bucket, Key=key, Body=b"forged")["VersionId"]
    with vault.app.engine.begin() as conn:
        conn.execute(
            update(EvidenceItem).where(EvidenceItem.id == item.id)
            .values(sealed_locator=f"s3://{sealed.bucket}/{key}?versionId={forged}")
        )  # fmt: skip
    verified = run_cli(["verify"], vault.env(), vault.root)
    said = " ".join(verified.stdout.split())
    assert verified.returncode == 1
    assert "item row's sealed locator" in said and "is not the one the chain recorded" in said
    assert "a newer version (6 bytes) was placed over it" in said
    assert "altered" not in said
    vault.app.engine.dispose()

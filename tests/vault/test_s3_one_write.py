"""S3 ingest writes the bytes once: an upload under a key named before they arrive, and a
locked zero-byte pointer at the content address (vault/stores/s3_pointer.py).

Run against a real SeaweedFS with Object Lock; the operations the client sends are recorded
with botocore's own event hooks, not mocked."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Buckets
from vault.stores.protocol import DestructionOrder, Retention, rehash
from vault.stores.s3 import S3Store

MiB = 1024 * 1024


@pytest.fixture
def sealed(buckets: Buckets) -> S3Store:
    return S3Store(buckets.sealed, name="sealed", lock_mode="COMPLIANCE", chunk_size=MiB)


def chunks(data: bytes, size: int = 256 * 1024) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def soon(seconds: float) -> datetime:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).replace(microsecond=0)


def record_calls(store: S3Store) -> list[tuple[str, str]]:
    """(operation, key) of every request the store's client makes from now on."""
    calls: list[tuple[str, str]] = []

    def seen(params: dict[str, Any], model: Any, **_: Any) -> None:
        calls.append((model.name, str(params.get("Key", ""))))

    store.client.meta.events.register("provide-client-params.s3", seen)
    return calls


def versions_under(store: S3Store, prefix: str) -> list[dict[str, Any]]:
    listed = store.client.list_object_versions(Bucket=store.bucket, Prefix=prefix)
    return list(listed.get("Versions", [])) + list(listed.get("DeleteMarkers", []))


def test_an_ingest_sends_the_bytes_once_and_locks_them_and_their_pointer(
    sealed: S3Store,
) -> None:
    data = os.urandom(12 * MiB + 7)  # multipart at 5 MiB parts
    until = soon(3600)
    calls = record_calls(sealed)
    stored = sealed.put(chunks(data), retention=Retention(until=until))

    digest = hashlib.sha256(data).hexdigest()
    upload = sealed.key_for(digest)
    assert upload.startswith(sealed.uploads_prefix) and stored.digest == digest
    assert stored.locator.startswith(f"s3://{sealed.bucket}/{upload}?versionId=")
    # No server-side copy, and every request that carries bytes goes to the upload key.
    assert not [op for op, _ in calls if "Copy" in op]
    carrying = {key for op, key in calls if op in ("UploadPart", "CreateMultipartUpload")}
    assert carrying == {upload}
    puts = [key for op, key in calls if op == "PutObject"]
    assert sealed.content_key(digest) in puts  # the pointer (and the incoming marker)

    pointer = sealed.client.head_object(Bucket=sealed.bucket, Key=sealed.content_key(digest))
    assert pointer["ContentLength"] == 0
    assert pointer["Metadata"]["evault-key"] == upload
    assert pointer["Metadata"]["evault-size"] == str(len(data))
    for head in (pointer, sealed.client.head_object(Bucket=sealed.bucket, Key=upload)):
        assert head["ObjectLockMode"] == "COMPLIANCE"
        assert head["ObjectLockRetainUntilDate"] >= until

    # The whole bucket holds the bytes once, and nothing is left under incoming/.
    everything = versions_under(sealed, sealed.config.prefix)
    assert sum(int(v.get("Size", 0)) for v in everything) == len(data)
    assert versions_under(sealed, f"{sealed.config.prefix}incoming/") == []

    assert sealed.list_objects() == [(digest, len(data))]
    assert sealed.stat(digest).size == len(data) and sealed.exists(digest)
    assert rehash(sealed, digest) == (digest, len(data))
    assert rehash(sealed, digest, locator=stored.locator) == (digest, len(data))
    with sealed.open(digest, locator=stored.locator) as stream:
        stream.seek(len(data) - 5)
        assert stream.read() == data[-5:]


def test_a_duplicate_removes_its_own_upload_and_returns_the_first(sealed: S3Store) -> None:
    first = sealed.put([b"the same recording"], retention=Retention(until=soon(3600)))
    again = sealed.put([b"the same recording"], retention=Retention(until=soon(3600)))
    assert (again.created, again.locator) == (False, first.locator)
    uploads = versions_under(sealed, sealed.uploads_prefix)
    assert [v["Key"] for v in uploads] == [sealed.key_for(first.digest)]


def test_an_object_under_its_content_address_from_before_keeps_working(
    sealed: S3Store,
) -> None:
    data = b"stored by an earlier version of the vault"
    digest = hashlib.sha256(data).hexdigest()
    key = sealed.content_key(digest)
    sealed.client.put_object(
        Bucket=sealed.bucket,
        Key=key,
        Body=data,
        ObjectLockMode="COMPLIANCE",
        ObjectLockRetainUntilDate=soon(2),
    )
    assert sealed.key_for(digest) == key
    again = sealed.put([data], retention=Retention(until=soon(3600)))
    assert (again.created, again.locator.split("?")[0]) == (False, f"s3://{sealed.bucket}/{key}")
    assert versions_under(sealed, sealed.uploads_prefix) == []  # the new upload was removed
    later = soon(7200)
    sealed.set_retention(digest, until=later, hold=False)
    assert sealed.retention(digest) == Retention(until=later, hold=False)
    assert sealed.list_objects() == [(digest, len(data))]
    assert rehash(sealed, digest) == (digest, len(data))


def test_a_pointer_put_over_the_vaults_cannot_take_the_bytes_out_of_retention_or_destruction(
    buckets: Buckets,
) -> None:
    # The access bucket is versioned without Object Lock: an insider can put anything there.
    access = S3Store(buckets.access, name="access", lock_mode="none", chunk_size=MiB)
    stored = access.put([b"evidence"], retention=None)
    upload = access.key_for(stored.digest)
    decoy = f"{access.uploads_prefix}decoy"
    access.client.put_object(Bucket=access.bucket, Key=decoy, Body=b"something else")
    access.client.put_object(
        Bucket=access.bucket,
        Key=access.content_key(stored.digest),
        Body=b"",
        Metadata={"evault-key": decoy, "evault-size": "14"},
    )
    assert access.key_for(stored.digest) == decoy  # reads by digest now find the decoy...
    assert rehash(access, stored.digest)[0] != stored.digest  # ...and fixity says so
    # ...but the recorded locator still reads the evidence,
    assert rehash(access, stored.digest, locator=stored.locator) == (stored.digest, 8)
    # and destruction by digest removes the evidence, the decoy and every pointer version.
    access.delete(stored.digest, order=DestructionOrder(stored.digest, "register-1"))
    assert versions_under(access, access.config.prefix) == []
    assert upload != decoy


def test_a_pointer_naming_a_key_outside_the_uploads_is_not_followed(sealed: S3Store) -> None:
    victim = sealed.put([b"another item"], retention=Retention(until=soon(3600)))
    digest = hashlib.sha256(b"bait").hexdigest()
    sealed.client.put_object(
        Bucket=sealed.bucket,
        Key=sealed.content_key(digest),
        Body=b"",
        Metadata={"evault-key": sealed.content_key(victim.digest)},
    )
    assert sealed.key_for(digest) == sealed.content_key(digest)
    assert rehash(sealed, digest) == (hashlib.sha256(b"").hexdigest(), 0)
    held = sealed._keys_holding(digest)  # what a retention change or destruction touches
    assert [key for key, _ in held] == [sealed.content_key(digest)]


def test_the_clean_up_removes_an_unnamed_upload_and_keeps_a_named_one(buckets: Buckets) -> None:
    access = S3Store(buckets.access, name="access", lock_mode="none", chunk_size=MiB)
    named = access.put([b"named before the writer died"], retention=None)
    named_id = access.key_for(named.digest).rsplit("/", 1)[-1]
    incoming = f"{access.config.prefix}incoming/"
    # What two writers that died leave: a marker each; one upload a pointer names (the writer
    # died after naming it), one that nothing names (it died before).
    for upload_id in (named_id, "died-before-naming"):
        access.client.put_object(Bucket=access.bucket, Key=f"{incoming}{upload_id}", Body=b"")
    access.client.put_object(
        Bucket=access.bucket, Key=f"{access.uploads_prefix}died-before-naming", Body=b"orphan"
    )
    assert access.remove_stale_temps() == 0  # nothing is a day old yet

    # As the daemon's clean-up a day later: everything under incoming/ is that old by then.
    assert access.remove_stale_temps(older_than=timedelta(0)) == 3  # two markers, the orphan
    assert versions_under(access, incoming) == []
    left = [v["Key"] for v in versions_under(access, access.uploads_prefix)]
    assert left == [access.key_for(named.digest)]
    assert rehash(access, named.digest, locator=named.locator) == (named.digest, 28)


def test_a_permanent_copy_whose_far_date_moved_on_leaves_its_pointer_unreported(
    sealed: S3Store,
) -> None:
    """A permanent copy is held; its far date is its own and moves on (a repair's new version
    gets a later one, the vault pushes it out again), so only the pointer's hold is required,
    not its date."""
    stored = sealed.put([b"kept for ever"], retention=Retention(until=None, hold=True))
    assert stored.locator is not None
    assert sealed.overlays(stored.digest, locator=stored.locator) == []
    upload, version = (
        sealed.key_for(stored.digest),
        sealed.recorded_version(stored.digest, stored.locator),
    )
    later = soon(3600) + timedelta(days=200 * 366)
    sealed.client.put_object_retention(
        Bucket=sealed.bucket, Key=upload, VersionId=version,
        Retention={"Mode": "COMPLIANCE", "RetainUntilDate": later},
    )  # fmt: skip
    assert sealed.overlays(stored.digest, locator=stored.locator) == []
    pointer = {"Bucket": sealed.bucket, "Key": sealed.content_key(stored.digest)}
    sealed.client.put_object_legal_hold(**pointer, LegalHold={"Status": "OFF"})
    assert sealed.overlays(stored.digest, locator=stored.locator) == [
        "its pointer at the content address carries no legal hold, though the bytes do"
    ]

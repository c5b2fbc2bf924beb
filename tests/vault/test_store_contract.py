"""One contract, two stores: the same cases run against the filesystem store and the S3 store
(on a real SeaweedFS server). Invariant 2 (write-once, retention only grows) for both."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import Buckets
from vault.errors import Conflict, IntegrityViolation, NotFound, RetentionViolation, StoreError
from vault.stores.filesystem import FilesystemStore
from vault.stores.protocol import DestructionOrder, ObjectStore, Retention, rehash
from vault.stores.s3 import S3Store

MiB = 1024 * 1024


@pytest.fixture(params=["filesystem", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    """A store in the sealed role: the one whose retention must hold."""
    if request.param == "filesystem":
        return FilesystemStore(tmp_path / "sealed", name="sealed", chunk_size=MiB)
    buckets: Buckets = request.getfixturevalue("buckets")
    return S3Store(buckets.sealed, name="sealed", lock_mode="COMPLIANCE", chunk_size=MiB)


def chunks(data: bytes, size: int = 256 * 1024) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def soon(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def leftovers(store: ObjectStore) -> list[str]:
    """Partial uploads or temp files the store still holds."""
    if isinstance(store, FilesystemStore):
        return [p.name for p in (store.root / "tmp").iterdir()]
    assert isinstance(store, S3Store)
    listed = store.client.list_object_versions(
        Bucket=store.bucket, Prefix=f"{store.config.prefix}incoming/"
    )
    uploads = store.client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", [])
    return [v["Key"] for v in listed.get("Versions", [])] + [u["Key"] for u in uploads]


@pytest.mark.parametrize("size", [0, 100, 12 * MiB + 7])
def test_put_is_content_addressed_and_reads_back(store: ObjectStore, size: int) -> None:
    data = os.urandom(size)
    stored = store.put(chunks(data), retention=Retention(until=soon(3600)))
    assert stored.digest == hashlib.sha256(data).hexdigest()
    assert (stored.size, stored.created) == (size, True)
    assert store.exists(stored.digest) and store.stat(stored.digest).size == size
    assert rehash(store, stored.digest) == (stored.digest, size)
    with store.open(stored.digest) as stream:  # seekable, as probing and ranges need
        stream.seek(max(0, size - 10))
        assert stream.read() == data[max(0, size - 10) :]
    assert leftovers(store) == []


def test_same_bytes_again_is_not_rewritten(store: ObjectStore) -> None:
    first = store.put([b"same bytes"], retention=Retention(until=soon(3600)))
    again = store.put([b"same bytes"], retention=Retention(until=soon(3600)))
    assert (again.digest, again.created) == (first.digest, False)
    assert leftovers(store) == []


def test_known_digest_is_checked_before_anything_is_kept(store: ObjectStore) -> None:
    wrong = hashlib.sha256(b"what the caller expected").hexdigest()
    data = os.urandom(11 * MiB)  # multipart on S3: the check must abort, not complete
    with pytest.raises(IntegrityViolation, match="expected"):
        store.put(chunks(data), retention=Retention(until=soon(3600)), expected_digest=wrong)
    assert not store.exists(wrong)
    assert not store.exists(hashlib.sha256(data).hexdigest())
    assert leftovers(store) == []
    right = hashlib.sha256(data).hexdigest()
    assert store.put(chunks(data), expected_digest=right).digest == right


def test_a_stream_that_fails_midway_stores_nothing(store: ObjectStore) -> None:
    class StationGone(Exception):
        pass

    def broken() -> Iterator[bytes]:
        yield os.urandom(6 * MiB)
        raise StationGone

    with pytest.raises(StationGone):
        store.put(broken(), retention=Retention(until=soon(3600)))
    assert leftovers(store) == []
    assert store.iter_digests() == []  # type: ignore[attr-defined]


def test_retention_extends_and_is_never_shortened(store: ObjectStore) -> None:
    until = soon(3600).replace(microsecond=0)
    stored = store.put([b"evidence"], retention=Retention(until=until))
    current = store.retention(stored.digest)
    assert current is not None and current.until == until
    later = until + timedelta(days=1)
    store.set_retention(stored.digest, until=later, hold=False)
    with pytest.raises(RetentionViolation):
        store.set_retention(stored.digest, until=until, hold=False)
    after = store.retention(stored.digest)
    assert after is not None and after.until == later
    # A put of the same bytes asking for less leaves the longer retention in place.
    store.put([b"evidence"], retention=Retention(until=until))
    kept = store.retention(stored.digest)
    assert kept is not None and kept.until == later


def test_nothing_is_deleted_before_its_retention_ends(store: ObjectStore) -> None:
    stored = store.put([b"locked"], retention=Retention(until=soon(3600)))
    with pytest.raises(RetentionViolation):
        store.delete(stored.digest, order=DestructionOrder(stored.digest, "register-1"))
    assert rehash(store, stored.digest)[0] == stored.digest


def test_delete_needs_an_order_for_that_object(store: ObjectStore) -> None:
    stored = store.put([b"x"], retention=Retention(until=soon(1)))
    other = hashlib.sha256(b"y").hexdigest()
    with pytest.raises(IntegrityViolation):
        store.delete(stored.digest, order=DestructionOrder(other, "register-2"))


def test_hold_blocks_deletion_after_expiry_until_released(store: ObjectStore) -> None:
    until = soon(2)
    stored = store.put([b"held"], retention=Retention(until=until, hold=True))
    order = DestructionOrder(stored.digest, "register-3")
    time.sleep(max(0.0, (until - datetime.now(UTC)).total_seconds()) + 1.5)
    with pytest.raises(RetentionViolation):
        store.delete(stored.digest, order=order)
    store.set_retention(stored.digest, until=until, hold=False)
    store.delete(stored.digest, order=order)
    assert not store.exists(stored.digest)
    with pytest.raises(NotFound):
        store.open(stored.digest)


def test_missing_object_is_not_found(store: ObjectStore) -> None:
    missing = hashlib.sha256(b"never stored").hexdigest()
    with pytest.raises(NotFound):
        store.open(missing)
    with pytest.raises(NotFound):
        store.stat(missing)
    with pytest.raises(NotFound):
        store.set_retention(missing, until=soon(60), hold=False)


def test_damaged_copy_is_reported_not_replaced(store: ObjectStore) -> None:
    stored = store.put([b"original"], retention=None)
    damage(store, stored.digest, b"0riginal")
    with pytest.raises(IntegrityViolation, match="damaged"):
        store.put([b"original"])
    with store.open(stored.digest) as stream:
        assert stream.read() == b"0riginal"  # left for fixity repair, not silently replaced


def damage(store: ObjectStore, digest: str, content: bytes) -> None:
    """What an attacker with write access does: new bytes under the object's name."""
    if isinstance(store, FilesystemStore):
        path = store.path_for(digest)
        path.chmod(0o644)
        path.write_bytes(content)
        return
    assert isinstance(store, S3Store)
    # A versioned bucket keeps the original version; the newest one is what a reader gets.
    store.client.put_object(Bucket=store.bucket, Key=store.key_for(digest), Body=content)


def test_unreachable_store_is_a_clear_error(buckets: Buckets) -> None:
    config = buckets.sealed.model_copy(update={"endpoint_url": "http://127.0.0.1:9"})
    store = S3Store(config, name="sealed", lock_mode="COMPLIANCE")
    with pytest.raises(StoreError, match="unreachable"):
        store.put([b"anything"])


def test_restore_puts_back_the_exact_bytes_of_a_damaged_object_only(store: ObjectStore) -> None:
    data = os.urandom(6 * MiB + 3)
    stored = store.put(chunks(data), retention=Retention(until=soon(3600)))
    with pytest.raises(Conflict, match="intact"):
        store.restore(stored.digest, chunks(data), retention=Retention(until=soon(3600)))
    damage(store, stored.digest, b"rotten")
    assert rehash(store, stored.digest)[0] != stored.digest
    with pytest.raises(IntegrityViolation, match=r"nothing was|aborted"):
        store.restore(stored.digest, chunks(b"other bytes"), retention=Retention(until=soon(3600)))
    store.restore(stored.digest, chunks(data), retention=Retention(until=soon(3600)))
    assert rehash(store, stored.digest) == (stored.digest, len(data))
    assert leftovers(store) == []
    if isinstance(store, S3Store):  # the damaged version is kept behind, not replaced
        versions = store.client.list_object_versions(
            Bucket=store.bucket, Prefix=store.key_for(stored.digest)
        )["Versions"]
        assert len(versions) == 3  # original, rotten, restored

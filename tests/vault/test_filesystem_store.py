"""Invariant 2 on the filesystem: content-addressed, write-once, read-only, no overwrite."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from vault.errors import IntegrityViolation, NotFound, StoreError
from vault.stores.filesystem import FilesystemStore
from vault.stores.protocol import DestructionOrder, rehash


def chunks(data: bytes, size: int = 7) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def test_put_names_object_by_sha256_and_makes_it_read_only(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path / "s", name="sealed")
    data = b"body-cam bytes" * 100
    stored = store.put(chunks(data))
    assert stored.digest == hashlib.sha256(data).hexdigest()
    assert stored.size == len(data) and stored.created
    path = store.path_for(stored.digest)
    assert path.read_bytes() == data
    assert stat.S_IMODE(path.stat().st_mode) == 0o400
    assert list((tmp_path / "s" / "tmp").iterdir()) == []


def test_second_put_of_same_bytes_does_not_rewrite(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path / "s", name="sealed")
    first = store.put([b"same"])
    inode = store.path_for(first.digest).stat().st_ino
    again = store.put([b"same"])
    assert not again.created
    assert store.path_for(first.digest).stat().st_ino == inode


def test_damaged_existing_object_is_reported_not_replaced(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path / "s", name="sealed")
    stored = store.put([b"original bytes"])
    path = store.path_for(stored.digest)
    os.chmod(path, 0o644)
    path.write_bytes(b"original bytez")
    with pytest.raises(IntegrityViolation, match="damaged"):
        store.put([b"original bytes"])
    assert path.read_bytes() == b"original bytez"  # evidence of the damage is kept


def test_failed_stream_leaves_no_object_and_no_temp(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path / "s", name="sealed")

    def broken() -> list[bytes]:
        yield b"partial"  # type: ignore[misc]
        raise OSError(5, "Input/output error")

    with pytest.raises(StoreError):
        store.put(broken())  # type: ignore[arg-type]
    assert store.iter_digests() == []
    assert list((tmp_path / "s" / "tmp").iterdir()) == []


def test_delete_needs_a_matching_destruction_order(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path / "s", name="sealed")
    stored = store.put([b"x"])
    other = store.put([b"y"])
    with pytest.raises(IntegrityViolation):
        store.delete(stored.digest, order=DestructionOrder(other.digest, "REG-1"))
    assert store.exists(stored.digest)
    store.delete(stored.digest, order=DestructionOrder(stored.digest, "REG-1"))
    assert not store.exists(stored.digest)
    with pytest.raises(NotFound):
        store.open(stored.digest)


def test_rehash_detects_a_flipped_byte(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path / "s", name="access")
    stored = store.put([b"abcdef" * 1000])
    path = store.path_for(stored.digest)
    os.chmod(path, 0o644)
    with open(path, "r+b") as handle:
        handle.seek(100)
        handle.write(b"X")
    actual, size = rehash(store, stored.digest)
    assert actual != stored.digest and size == stored.size


def test_full_disk_is_a_clear_error_and_leaves_nothing(tmp_path: Path) -> None:
    """A real full filesystem: a 1 MiB tmpfs (the test runs as root in CI)."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    result = os.system(f"mount -t tmpfs -o size=1m tmpfs {mount} 2>/dev/null")  # noqa: S605
    assert result == 0, "mounting a tmpfs needs root; CI runs as root"
    try:
        store = FilesystemStore(mount / "s", name="sealed")
        with pytest.raises(StoreError, match="full"):
            store.put(chunks(os.urandom(3 * 1024 * 1024), 64 * 1024))
        assert store.iter_digests() == []
        assert list((mount / "s" / "tmp").iterdir()) == []
    finally:
        os.system(f"umount {mount}")  # noqa: S605

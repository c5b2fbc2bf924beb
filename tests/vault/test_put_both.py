"""Both copies from one stream (vault.stores.tee.put_both): the same bytes in both stores;
a failure of either side, or of the source, part-way leaves an object in neither."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from vault.errors import StoreError
from vault.stores.filesystem import FilesystemStore
from vault.stores.protocol import rehash
from vault.stores.tee import put_both

MiB = 1024 * 1024


def chunks(data: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def stores(root: Path) -> tuple[FilesystemStore, FilesystemStore]:
    return FilesystemStore(root / "sealed", name="sealed"), FilesystemStore(
        root / "access", name="access"
    )


def test_the_same_bytes_land_in_both(tmp_path: Path) -> None:
    data = os.urandom(3 * MiB + 17)
    sealed, access = stores(tmp_path)
    a, b = put_both(sealed, access, chunks(data), retention=None)
    digest = hashlib.sha256(data).hexdigest()
    assert (a.digest, b.digest, a.size, b.size) == (digest, digest, len(data), len(data))
    assert rehash(sealed, digest) == rehash(access, digest) == (digest, len(data))


def test_a_source_that_breaks_off_leaves_nothing_in_either(tmp_path: Path) -> None:
    def breaking() -> Iterator[bytes]:
        yield from chunks(os.urandom(2 * MiB))
        raise RuntimeError("station went away")

    sealed, access = stores(tmp_path)
    with pytest.raises(RuntimeError, match="station went away"):
        put_both(sealed, access, breaking(), retention=None)
    for store in (sealed, access):
        assert store.iter_digests() == []
        assert list((store.root / "tmp").iterdir()) == []


@pytest.mark.parametrize("full", ["sealed", "access"])
def test_a_full_disk_on_either_side_is_a_clear_error(tmp_path: Path, full: str) -> None:
    """A real full filesystem (a 1 MiB tmpfs; the tests run as root) under one of the two."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    assert os.system(f"mount -t tmpfs -o size=1m tmpfs {mount} 2>/dev/null") == 0  # noqa: S605
    try:
        roomy = FilesystemStore(tmp_path / "roomy", name="roomy")
        cramped = FilesystemStore(mount / "s", name=full)
        pair = (cramped, roomy) if full == "sealed" else (roomy, cramped)
        with pytest.raises(StoreError, match="full"):
            put_both(*pair, chunks(os.urandom(3 * MiB)), retention=None)
        for store in pair:
            assert store.iter_digests() == []
            assert list((store.root / "tmp").iterdir()) == []
    finally:
        os.system(f"umount {mount}")  # noqa: S605

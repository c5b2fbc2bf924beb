"""`evault doctor`'s file-mode check: no file of the vault (a stored object, the SQLite
database, a signing key) may be readable by an account that is not the vault's, or its
configured store group's. Stores are sampled, not walked whole: a wide mode comes from a
umask, a copy or a restore, and shows in the first files as much as in the last."""

from __future__ import annotations

import itertools
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from config.settings import Settings
from vault.stores.filesystem import FilesystemStore
from vault.stores.protocol import ObjectStore

SAMPLE = 200


def _tree(root: Path) -> Iterator[Path]:
    for directory, subdirectories, files in os.walk(root):
        subdirectories.sort()
        yield Path(directory)
        for name in sorted(files):
            yield Path(directory) / name


def too_wide(settings: Settings, stores: dict[str, ObjectStore]) -> list[str]:
    """Each path readable (or writable) beyond what it must be, with its mode."""
    wide: list[str] = []

    def check(path: Path, allowed: int) -> None:
        try:
            mode = stat.S_IMODE(path.lstat().st_mode)
        except FileNotFoundError:
            return
        if mode & ~allowed & 0o077:
            wide.append(f"{path} is {mode:04o}")

    for store in stores.values():
        if isinstance(store, FilesystemStore):
            group_bits = 0o050 if store.modes.directory & 0o050 else 0
            check(store.root, 0o700 | group_bits)
            for path in itertools.islice(_tree(store.root / "objects"), SAMPLE):
                check(path, 0o700 | group_bits)
    if settings.database.startswith("sqlite:///"):
        database = Path(settings.database.split("///", 1)[1])
        for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
            check(path, 0o600)
    keys = settings.keys_path
    if keys.exists():
        for path in itertools.islice(_tree(keys), SAMPLE):
            check(path, 0o700)
    return wide

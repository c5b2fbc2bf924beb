"""Filesystem object store: the embedded default.

Write path: temp file on the same filesystem -> fsync -> chmod 0444 -> ``os.link`` to the
digest's path (fails if present, so nothing is ever overwritten) -> fsync the directory.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from vault.errors import IntegrityViolation, NotFound, StoreError
from vault.stores.protocol import DestructionOrder, StoredObject, rehash, validate_digest

READ_ONLY = 0o444


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class FilesystemStore:
    def __init__(self, root: Path, *, name: str, chunk_size: int = 1024 * 1024) -> None:
        self.name = name
        self.root = root
        self.chunk_size = chunk_size
        self._objects = root / "objects"
        self._tmp = root / "tmp"
        try:
            self._objects.mkdir(parents=True, exist_ok=True)
            self._tmp.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"{name} store at {root} cannot be created: {exc.strerror}") from exc

    def location(self) -> str:
        return str(self.root.resolve())

    def path_for(self, digest: str) -> Path:
        validate_digest(digest)
        return self._objects / digest[:2] / digest[2:4] / digest

    def put(self, chunks: Iterable[bytes]) -> StoredObject:
        tmp_path = self._tmp / f"{os.getpid()}.{secrets.token_hex(8)}.part"
        hasher = hashlib.sha256()
        size = 0
        try:
            with open(tmp_path, "xb") as out:
                for chunk in chunks:
                    hasher.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp_path, READ_ONLY)
            digest = hasher.hexdigest()
            return self._link_into_place(tmp_path, digest, size)
        except OSError as exc:
            raise StoreError(self._describe(exc)) from exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp_path.unlink()

    def _link_into_place(self, tmp_path: Path, digest: str, size: int) -> StoredObject:
        final = self.path_for(digest)
        self._make_dirs(final.parent)
        try:
            os.link(tmp_path, final)
        except FileExistsError:
            # Same name means same bytes, unless the stored copy was damaged: check, never
            # overwrite. A damaged copy is for fixity repair, not for a silent replace.
            actual, actual_size = rehash(self, digest, chunk_size=self.chunk_size)
            if actual != digest or actual_size != size:
                raise IntegrityViolation(
                    f"{self.name} store already holds {digest} but its content hashes to"
                    f" {actual} ({actual_size} bytes): the stored object is damaged"
                ) from None
            return StoredObject(digest, size, str(final), created=False)
        _fsync_dir(final.parent)
        return StoredObject(digest, size, str(final), created=True)

    def _make_dirs(self, directory: Path) -> None:
        missing = []
        probe = directory
        while not probe.exists():
            missing.append(probe)
            probe = probe.parent
        directory.mkdir(parents=True, exist_ok=True)
        # A new directory entry is durable only once its parent is fsynced.
        for created in reversed(missing):
            _fsync_dir(created.parent)

    def _describe(self, exc: OSError) -> str:
        if exc.errno == errno.ENOSPC:
            return f"{self.name} store at {self.root} is full (no space left on device)"
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return f"{self.name} store at {self.root} is not writable: {exc.strerror}"
        return f"{self.name} store at {self.root} failed: {exc.strerror or exc}"

    def open(self, digest: str) -> BinaryIO:
        try:
            return open(self.path_for(digest), "rb")
        except FileNotFoundError:
            raise NotFound(f"{self.name} store has no object {digest}") from None
        except OSError as exc:
            raise StoreError(self._describe(exc)) from exc

    def stat(self, digest: str) -> StoredObject:
        path = self.path_for(digest)
        try:
            st = path.stat()
        except FileNotFoundError:
            raise NotFound(f"{self.name} store has no object {digest}") from None
        return StoredObject(digest, st.st_size, str(path), created=False)

    def exists(self, digest: str) -> bool:
        return self.path_for(digest).exists()

    def set_retention(self, digest: str, *, until: datetime | None, hold: bool) -> None:
        # A plain filesystem has no retention lock to set; the objects are read-only and only
        # the destruction workflow deletes. Checking presence keeps the call honest.
        self.stat(digest)

    def delete(self, digest: str, *, order: DestructionOrder) -> None:
        if order.digest != digest:
            raise IntegrityViolation(
                f"destruction order {order.register_entry} is for {order.digest}, not {digest}"
            )
        path = self.path_for(digest)
        try:
            path.unlink()
        except FileNotFoundError:
            raise NotFound(f"{self.name} store has no object {digest}") from None
        _fsync_dir(path.parent)

    def iter_digests(self) -> list[str]:
        return sorted(p.name for p in self._objects.glob("*/*/*") if p.is_file())

    def remove_stale_temps(self) -> int:
        """Delete temp files left by processes that died mid-write; returns how many."""
        removed = 0
        for tmp in self._tmp.glob("*.part"):
            pid_text = tmp.name.split(".", 1)[0]
            if pid_text.isdigit() and _pid_alive(int(pid_text)) and int(pid_text) != os.getpid():
                continue
            if pid_text.isdigit() and int(pid_text) == os.getpid():
                continue
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
                removed += 1
        return removed

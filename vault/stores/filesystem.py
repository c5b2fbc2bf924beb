"""Filesystem object store: the embedded default.

Write path: temp file on the same filesystem -> fsync -> chmod 0400 -> ``os.link`` to the
digest's path (fails if present, so nothing is ever overwritten) -> fsync the directory.

Owner-only: objects 0400 in 0700 directories, so no other local account reads a recording
without a custody event. With a group (a backup operator's), 0440 and 0750.

A plain filesystem has no retention lock, so the store keeps each object's retention in a small
JSON record beside the objects and enforces it itself: it refuses to shorten a retention and
refuses to delete before the retention ends or while a hold is on.
"""

from __future__ import annotations

import contextlib
import errno
import grp
import hashlib
import json
import os
import secrets
import socket
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from vault.errors import Conflict, IntegrityViolation, NotFound, RetentionViolation, StoreError
from vault.stores.protocol import (
    DestructionOrder,
    Retention,
    StoredObject,
    rehash,
    validate_digest,
)

# Temp files of another host (a shared mount) are only removed once this old.
FOREIGN_TEMP_AGE_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Modes:
    file: int  # objects (read-only: write-once)
    directory: int
    record: int  # retention records


OWNER_ONLY = Modes(file=0o400, directory=0o700, record=0o600)
WITH_GROUP = Modes(file=0o440, directory=0o750, record=0o640)


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
    def __init__(
        self, root: Path, *, name: str, chunk_size: int = 1024 * 1024, group: str | None = None
    ) -> None:
        self.name = name
        self.root = root
        self.chunk_size = chunk_size
        self.modes = WITH_GROUP if group else OWNER_ONLY
        self._objects = root / "objects"
        self._tmp = root / "tmp"
        self._retention = root / "retention"
        try:
            self._gid = grp.getgrnam(group).gr_gid if group else -1
        except KeyError:
            raise StoreError(f"{name} store: there is no group {group!r} (store_group)") from None
        try:
            for directory in (self._objects, self._tmp, self._retention):
                self._make_dirs(directory)
            # A store made before modes were owner-only: closing its top directories is
            # enough to keep other accounts out of everything below them.
            for directory in (root, self._objects, self._tmp, self._retention):
                with contextlib.suppress(PermissionError):  # not ours: `doctor` names it
                    self._own(directory, self.modes.directory)
        except OSError as exc:
            raise StoreError(f"{name} store at {root} cannot be created: {exc.strerror}") from exc

    def _own(self, path: Path, mode: int) -> None:
        os.chmod(path, mode)
        if self._gid != -1:
            os.chown(path, -1, self._gid)

    def location(self) -> str:
        return str(self.root.resolve())

    def path_for(self, digest: str) -> Path:
        validate_digest(digest)
        return self._objects / digest[:2] / digest[2:4] / digest

    @contextlib.contextmanager
    def _landed(self, chunks: Iterable[bytes]) -> Iterator[tuple[Path, str, int]]:
        """The bytes written to a read-only temp file, fsynced and hashed on the way:
        (path, digest, size). The temp file is gone afterwards, whatever happened."""
        host = socket.gethostname().replace(".", "_")
        tmp_path = self._tmp / f"{os.getpid()}.{host}.{secrets.token_hex(8)}.part"
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
            self._own(tmp_path, self.modes.file)
            yield tmp_path, hasher.hexdigest(), size
        except OSError as exc:
            raise StoreError(self._describe(exc)) from exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp_path.unlink()

    def put(
        self,
        chunks: Iterable[bytes],
        *,
        retention: Retention | None = None,
        expected_digest: str | None = None,
    ) -> StoredObject:
        with self._landed(chunks) as (tmp_path, digest, size):
            if expected_digest is not None and digest != expected_digest:
                raise IntegrityViolation(
                    f"{self.name} store was sent bytes hashing to {digest}, expected"
                    f" {expected_digest}: nothing was stored"
                )
            stored = self._link_into_place(tmp_path, digest, size)
            if retention is not None:
                self._extend_retention(digest, retention)
            return stored

    def restore(
        self, digest: str, chunks: Iterable[bytes], *, retention: Retention | None = None
    ) -> StoredObject:
        final = self.path_for(digest)
        if final.exists() and rehash(self, digest, chunk_size=self.chunk_size)[0] == digest:
            raise Conflict(f"{self.name} object {digest} is intact: there is nothing to repair")
        with self._landed(chunks) as (tmp_path, actual, size):
            if actual != digest:
                raise IntegrityViolation(
                    f"repair bytes for {self.name} object {digest} hash to {actual}: nothing"
                    " was replaced"
                )
            self._make_dirs(final.parent)
            # The one replace in this store: the damaged bytes give way to the recorded ones.
            os.replace(tmp_path, final)
            _fsync_dir(final.parent)
            if retention is not None:
                self._extend_retention(digest, retention)
            return StoredObject(digest, size, str(final), created=True)

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
        for created in reversed(missing):
            with contextlib.suppress(FileExistsError):  # made meanwhile by another writer
                created.mkdir(mode=self.modes.directory)
                self._own(created, self.modes.directory)
            # A new directory entry is durable only once its parent is fsynced.
            _fsync_dir(created.parent)

    def _describe(self, exc: OSError) -> str:
        if exc.errno == errno.ENOSPC:
            return f"{self.name} store at {self.root} is full (no space left on device)"
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return f"{self.name} store at {self.root} is not writable: {exc.strerror}"
        return f"{self.name} store at {self.root} failed: {exc.strerror or exc}"

    def overlays(self, digest: str, *, locator: str) -> list[str]:
        return []  # one file per digest: nothing can be placed over it but a changed file

    def open(self, digest: str, *, locator: str | None = None) -> BinaryIO:
        # One file per digest, so the locator (its path) names nothing else to read.
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

    def _retention_path(self, digest: str) -> Path:
        return self._retention / digest[:2] / f"{validate_digest(digest)}.json"

    def retention(self, digest: str, *, locator: str | None = None) -> Retention | None:
        try:
            record = json.loads(self._retention_path(digest).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        until = record["until"]
        return Retention(
            until=None if until is None else datetime.fromisoformat(until), hold=record["hold"]
        )

    def set_retention(self, digest: str, *, until: datetime | None, hold: bool) -> None:
        self.stat(digest)
        current = self.retention(digest)
        if current is not None and _shortens(current.until, until):
            raise RetentionViolation(
                f"{self.name} store refuses to shorten the retention of {digest} from"
                f" {_show(current.until)} to {_show(until)}"
            )
        self._write_retention(digest, Retention(until=until, hold=hold))

    def _extend_retention(self, digest: str, wanted: Retention) -> None:
        """Apply a put's retention without ever shortening what an earlier put set."""
        current = self.retention(digest)
        if current is None:
            self._write_retention(digest, wanted)
            return
        until = current.until
        if until is not None and (wanted.until is None or wanted.until > until):
            until = wanted.until
        self._write_retention(digest, Retention(until=until, hold=current.hold or wanted.hold))

    def _write_retention(self, digest: str, retention: Retention) -> None:
        path = self._retention_path(digest)
        self._make_dirs(path.parent)
        until = None if retention.until is None else retention.until.astimezone(UTC).isoformat()
        tmp = path.with_name(f"{path.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, self.modes.record)
        with open(fd, "w", encoding="utf-8") as out:
            json.dump({"until": until, "hold": retention.hold}, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)  # a retention record is metadata: replacing it is its purpose
        _fsync_dir(path.parent)

    def delete(self, digest: str, *, order: DestructionOrder) -> None:
        if order.digest != digest:
            raise IntegrityViolation(
                f"destruction order {order.register_entry} is for {order.digest}, not {digest}"
            )
        current = self.retention(digest)
        if current is not None and current.needs_hold:
            raise RetentionViolation(f"{self.name} store: {digest} is under a hold or permanent")
        if current is not None and current.until is not None and current.until > datetime.now(UTC):
            raise RetentionViolation(
                f"{self.name} store: {digest} is retained until {_show(current.until)}"
            )
        path = self.path_for(digest)
        try:
            path.unlink()
        except FileNotFoundError:
            raise NotFound(f"{self.name} store has no object {digest}") from None
        _fsync_dir(path.parent)
        with contextlib.suppress(FileNotFoundError):
            self._retention_path(digest).unlink()

    def media_source(self, digest: str, *, locator: str | None = None) -> str:
        self.stat(digest)
        return str(self.path_for(digest))

    def iter_digests(self) -> list[str]:
        return sorted(p.name for p in self._objects.glob("*/*/*") if p.is_file())

    def list_objects(self) -> list[tuple[str, int]]:
        return sorted(
            (p.name, p.stat().st_size) for p in self._objects.glob("*/*/*") if p.is_file()
        )

    def remove_stale_temps(self) -> int:
        """Delete temp files left by processes that died mid-write; returns how many.

        A temp file is named ``<pid>.<host>.<random>.part``: one of this host is stale when its
        process is gone; one of another host (a shared mount) only once it is a day old.
        """
        removed = 0
        host = socket.gethostname().replace(".", "_")
        for tmp in self._tmp.glob("*.part"):
            if not _temp_is_stale(tmp, host):
                continue
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
                removed += 1
        return removed


def _temp_is_stale(tmp: Path, host: str) -> bool:
    pid_text, _, rest = tmp.name.partition(".")
    temp_host = rest.split(".", 1)[0]
    if pid_text.isdigit() and temp_host == host:
        pid = int(pid_text)
        return pid != os.getpid() and not _pid_alive(pid)
    try:
        return time.time() - tmp.stat().st_mtime > FOREIGN_TEMP_AGE_SECONDS
    except FileNotFoundError:
        return False


def _shortens(current: datetime | None, wanted: datetime | None) -> bool:
    if current is None:  # permanent
        return wanted is not None
    return wanted is not None and wanted < current


def _show(until: datetime | None) -> str:
    return "permanent" if until is None else until.isoformat()

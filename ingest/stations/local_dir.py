"""A docking station's export directory or mounted share, one sub-directory per device."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from ingest.naming import UnsafeName, check_relative_path, display_name, is_temporary
from ingest.sidecar import sidecar_names
from ingest.stations.base import Listing, SourceChanged, StationUnavailable, without_sidecars

ACK_DIR = b"ingested"


class LocalDirectoryStation:
    def __init__(
        self, name: str, root: Path, acknowledge: Literal["move", "delete", "none"] = "move"
    ) -> None:
        self.name = name
        self.root = os.fsencode(root)
        self.ack_mode = acknowledge

    def _abs(self, rel: bytes) -> bytes:
        check_relative_path(rel)
        return os.path.join(self.root, rel)

    def list_files(self) -> list[Listing]:
        try:
            found = list(self._walk(b""))
        except OSError as exc:
            raise StationUnavailable(
                f"station {self.name}: cannot list {display_name(self.root)}: {exc.strerror}"
            ) from exc
        return without_sidecars(found)

    def _walk(self, rel_dir: bytes) -> Iterator[Listing]:
        directory = os.path.join(self.root, rel_dir) if rel_dir else self.root
        with os.scandir(directory) as entries:
            for entry in entries:
                rel = os.path.join(rel_dir, entry.name) if rel_dir else entry.name
                try:
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue  # removed between listing and stat
                if stat.S_ISDIR(st.st_mode):
                    if not rel_dir and entry.name == ACK_DIR:
                        continue
                    yield from self._walk(rel)
                elif stat.S_ISREG(st.st_mode):
                    try:
                        check_relative_path(rel)
                    except UnsafeName:
                        continue
                    device = rel.split(b"/", 1)[0] if b"/" in rel else None
                    yield Listing(
                        rel, st.st_size, st.st_mtime_ns, device, temporary=is_temporary(entry.name)
                    )
                # Symlinks, sockets and devices are not recordings and could point anywhere.

    def read(self, listing: Listing, *, chunk_size: int) -> Iterator[bytes]:
        path = self._abs(listing.rel_path)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError as exc:
            raise StationUnavailable(
                f"station {self.name}: cannot open {display_name(listing.rel_path)}: {exc.strerror}"
            ) from exc
        try:
            yield from self._read_exact(fd, listing, chunk_size)
        finally:
            os.close(fd)

    def _read_exact(self, fd: int, listing: Listing, chunk_size: int) -> Iterator[bytes]:
        before = os.fstat(fd)
        if (before.st_size, before.st_mtime_ns) != (listing.size, listing.mtime_ns):
            raise SourceChanged(f"{display_name(listing.rel_path)} changed since it was listed")
        remaining = listing.size
        try:
            while remaining > 0:
                chunk = os.read(fd, min(chunk_size, remaining))
                if not chunk:
                    raise SourceChanged(
                        f"{display_name(listing.rel_path)} shrank while it was being copied"
                    )
                remaining -= len(chunk)
                yield chunk
            if os.read(fd, 1):
                raise SourceChanged(
                    f"{display_name(listing.rel_path)} grew while it was being copied"
                )
        except OSError as exc:
            raise StationUnavailable(
                f"station {self.name}: reading {display_name(listing.rel_path)} failed:"
                f" {exc.strerror}"
            ) from exc
        after = os.fstat(fd)
        if after.st_mtime_ns != listing.mtime_ns:
            raise SourceChanged(
                f"{display_name(listing.rel_path)} was modified while it was being copied"
            )

    def read_small(self, rel_path: bytes, *, limit: int) -> bytes | None:
        try:
            fd = os.open(self._abs(rel_path), os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return None
            raise StationUnavailable(f"station {self.name}: {exc.strerror}") from exc
        with os.fdopen(fd, "rb") as handle:
            return handle.read(limit + 1)

    def free_bytes(self) -> int | None:
        try:
            fs = os.statvfs(self.root)
        except OSError:
            return None
        return fs.f_bavail * fs.f_frsize

    def acknowledge(self, listing: Listing) -> str:
        if self.ack_mode == "none":
            return "left on station"
        companions = [
            s
            for s in sidecar_names(listing.rel_path)
            if s not in listing.keep and os.path.lexists(self._abs(s))
        ]
        for rel in [listing.rel_path, *companions]:
            if self.ack_mode == "delete":
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self._abs(rel))
            else:
                self._move_to_ack_dir(rel)
        with contextlib.suppress(OSError):
            _fsync_dir(os.path.dirname(self._abs(listing.rel_path)) or self.root)
        return "deleted from station" if self.ack_mode == "delete" else "moved to ingested/"

    def _move_to_ack_dir(self, rel: bytes) -> None:
        source = self._abs(rel)
        target = os.path.join(self.root, ACK_DIR, rel)
        self._make_dirs_under_root(os.path.dirname(os.path.join(ACK_DIR, rel)))
        # link + unlink instead of rename: rename would silently replace an earlier file of
        # the same name, and the station's copy is not ours to destroy.
        candidate, n = target, 0
        while True:
            try:
                os.link(source, candidate)
                break
            except FileExistsError:
                n += 1
                candidate = target + b"." + str(n).encode()
            except FileNotFoundError:
                return  # already moved by an earlier, interrupted acknowledgement
        os.unlink(source)

    def _make_dirs_under_root(self, rel_dir: bytes) -> None:
        """Create ``rel_dir`` below the station's root, one level at a time: never the root
        itself. os.makedirs would re-create a station that has gone (a share unmounted, a
        dock unplugged) as an empty folder on this host, and the next scan would find it
        reachable and empty instead of reporting it unavailable."""
        path = self.root
        for part in rel_dir.split(b"/"):
            path = os.path.join(path, part)
            try:
                os.mkdir(path)
            except FileExistsError:
                continue
            except FileNotFoundError:
                raise StationUnavailable(
                    f"station {self.name}: {display_name(self.root)} is gone; nothing was moved"
                ) from None


def _fsync_dir(path: bytes) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

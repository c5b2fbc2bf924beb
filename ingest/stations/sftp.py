"""A docking station that exposes its storage over SFTP (paramiko).

The server's host key is pinned in the station's settings: a station that presents another
key is refused, never trusted on first use. A transfer that breaks reconnects and continues
from the first byte not yet handed on (SFTP reads at an offset), so every byte reaches the
digest exactly once.
"""

from __future__ import annotations

import contextlib
import logging
import posixpath
import socket
import stat
from collections.abc import Callable, Iterator

import paramiko

from config.settings import StationConfig
from ingest.naming import UnsafeName, check_relative_path, display_name, is_temporary
from ingest.stations.base import (
    ACK_DIR,
    Listing,
    SourceChanged,
    StationUnavailable,
    acknowledge_on,
    resume_on_break,
    without_sidecars,
)

log = logging.getLogger(__name__)

BROKEN = (OSError, EOFError, paramiko.SSHException)
REQUEST_SIZE = 32 * 1024  # what SFTP servers answer in one read
# Bytes requested at once: the memory bound of one transfer. Each window ends with the
# pipeline drained (paramiko's prefetch keeps every answer until it is read, so one open-ended
# prefetch would hold a file the disk cannot keep up with); 16 MiB windows make that stall
# rare enough to read faster than paramiko's own `get` (8 MiB: 78 MiB/s, 16 MiB: ~100 MiB/s
# on loopback, against `get` at ~98).
PIPELINE_WINDOW = 16 * 1024 * 1024


class SftpStation:
    def __init__(self, config: StationConfig, *, retry_delay: float = 1.0) -> None:
        assert config.host is not None and config.host_key is not None
        self.name = config.name
        self.config = config
        self.root = str(config.path) if config.path is not None else "."
        self.retry_delay = retry_delay
        key_type, _, key_data = config.host_key.strip().partition(" ")
        self.pinned = (key_type, key_data.split(" ")[0])

    def _where(self) -> str:
        return f"SFTP server {self.config.host}:{self.config.port or 22}"

    @contextlib.contextmanager
    def _session(self) -> Iterator[paramiko.SFTPClient]:
        config = self.config
        try:
            sock = socket.create_connection(
                (config.host or "", config.port or 22), timeout=config.timeout_seconds
            )
        except OSError as exc:
            raise StationUnavailable(
                f"station {self.name}: cannot reach the {self._where()}: {exc}"
            ) from None
        transport = paramiko.Transport(sock)
        try:
            self._open(transport)
            client = paramiko.SFTPClient.from_transport(transport)
            if client is None:
                raise paramiko.SSHException("the server offers no SFTP subsystem")
            client.get_channel().settimeout(config.timeout_seconds)  # type: ignore[union-attr]
        except BROKEN as exc:
            transport.close()
            raise StationUnavailable(
                f"station {self.name}: the {self._where()} failed: {exc}"
            ) from None
        except StationUnavailable:
            transport.close()
            raise
        try:
            yield client
        finally:
            client.close()
            transport.close()

    def _open(self, transport: paramiko.Transport) -> None:
        config = self.config
        transport.start_client(timeout=config.timeout_seconds)
        key = transport.get_remote_server_key()
        if (key.get_name(), key.get_base64()) != self.pinned:
            raise StationUnavailable(
                f"station {self.name}: the {self._where()} presented host key"
                f" {key.get_name()} {key.get_fingerprint().hex()}, not the one configured:"
                " refusing to connect (if the station was replaced, update host_key)"
            )
        try:
            transport.auth_password(config.username or "", config.secret())
        except paramiko.AuthenticationException:
            raise StationUnavailable(
                f"station {self.name}: the {self._where()} refused the login of"
                f" {config.username!r}; check its username and password"
            ) from None
        except ValueError as exc:  # the password file could not be read
            raise StationUnavailable(str(exc)) from None

    def _remote(self, rel: bytes) -> str:
        check_relative_path(rel)
        return posixpath.join(self.root, rel.decode("utf-8"))

    # --- listing ----------------------------------------------------------------------

    def list_files(self) -> list[Listing]:
        try:
            with self._session() as sftp:
                found = list(self._walk(sftp, ""))
        except BROKEN as exc:
            raise StationUnavailable(f"station {self.name}: listing failed: {exc}") from None
        return without_sidecars(found)

    def _walk(self, sftp: paramiko.SFTPClient, rel_dir: str) -> Iterator[Listing]:
        for entry in sftp.listdir_attr(posixpath.join(self.root, rel_dir)):
            name, mode = entry.filename, entry.st_mode or 0
            rel = posixpath.join(rel_dir, name) if rel_dir else name
            if "\ufffd" in name:  # paramiko could not decode it: the custodian fetches it
                log.warning("station file with an undecodable name skipped",
                            extra={"station": self.name, "file": rel})  # fmt: skip
                continue
            if stat.S_ISDIR(mode):
                if rel_dir or name != ACK_DIR:
                    yield from self._walk(sftp, rel)
            elif stat.S_ISREG(mode):
                raw = rel.encode("utf-8")
                try:
                    check_relative_path(raw)
                except UnsafeName:
                    continue
                device = raw.split(b"/", 1)[0] if b"/" in raw else None
                yield Listing(
                    raw, entry.st_size or 0, int(entry.st_mtime or 0) * 1_000_000_000, device,
                    temporary=is_temporary(name.encode("utf-8")),
                )  # fmt: skip

    def _check_unchanged(self, sftp: paramiko.SFTPClient, path: str, listing: Listing) -> None:
        try:
            now = sftp.stat(path)
        except FileNotFoundError:
            raise StationUnavailable(
                f"station {self.name}: {display_name(listing.rel_path)} is gone"
            ) from None
        if (now.st_size, int(now.st_mtime or 0) * 1_000_000_000) != (
            listing.size,
            listing.mtime_ns,
        ):
            raise SourceChanged(f"{display_name(listing.rel_path)} changed since it was listed")

    # --- reading ----------------------------------------------------------------------

    def read(self, listing: Listing, *, chunk_size: int) -> Iterator[bytes]:
        path = self._remote(listing.rel_path)

        def attempt(offset: int) -> Iterator[bytes]:
            with self._session() as sftp:
                self._check_unchanged(sftp, path, listing)
                with sftp.open(path, "rb") as remote:
                    for chunk in _pipelined(remote, offset, listing.size, chunk_size):
                        offset += len(chunk)
                        yield chunk
                    if offset < listing.size:
                        raise SourceChanged(
                            f"{display_name(listing.rel_path)} shrank while it was being copied"
                        )
                    remote.seek(offset)
                    if remote.read(1):
                        raise SourceChanged(
                            f"{display_name(listing.rel_path)} grew while it was being copied"
                        )
                self._check_unchanged(sftp, path, listing)

        return resume_on_break(
            attempt, station=self.name, listing=listing, retries=self.config.transfer_retries,
            delay=self.retry_delay, broken=BROKEN,
        )  # fmt: skip

    def read_small(self, rel_path: bytes, *, limit: int) -> bytes | None:
        path = self._remote(rel_path)
        try:
            with self._session() as sftp:
                try:
                    with sftp.open(path, "rb") as remote:
                        return bytes(remote.read(limit + 1))
                except FileNotFoundError:
                    return None
        except BROKEN as exc:
            raise StationUnavailable(f"station {self.name}: {exc}") from None

    def free_bytes(self) -> int | None:
        return None  # the protocol has no standard way to say

    # --- acknowledging ----------------------------------------------------------------

    def acknowledge(self, listing: Listing) -> str:
        mode = self.config.acknowledge
        if mode == "none":
            return "left on station"
        with self._session() as sftp:
            files = _SftpFiles(self.root, sftp, self._remote)
            return acknowledge_on(files, listing, mode=mode, station=self.name, broken=BROKEN)


class _SftpFiles:
    """Acknowledging over one SFTP session (base.acknowledge_on)."""

    def __init__(
        self, root: str, sftp: paramiko.SFTPClient, remote: Callable[[bytes], str]
    ) -> None:
        self.root, self.sftp, self.remote = root, sftp, remote

    def exists(self, rel: bytes) -> bool:
        return _exists(self.sftp, self.remote(rel))

    def delete(self, rel: bytes) -> None:
        self.sftp.remove(self.remote(rel))

    def move_to_ack_dir(self, rel: bytes) -> None:
        sftp = self.sftp
        target = posixpath.join(self.root, ACK_DIR, rel.decode("utf-8"))
        directory = self.root
        for part in posixpath.dirname(posixpath.join(ACK_DIR, rel.decode("utf-8"))).split("/"):
            directory = posixpath.join(directory, part)
            if not _exists(sftp, directory):
                sftp.mkdir(directory)
        candidate, n = target, 0
        while _exists(sftp, candidate):  # the station's earlier file of that name stays
            n += 1
            candidate = f"{target}.{n}"
        sftp.rename(self.remote(rel), candidate)  # SFTP v3 rename fails rather than replace


def _pipelined(
    remote: paramiko.SFTPFile, offset: int, size: int, chunk_size: int
) -> Iterator[bytes]:
    """The bytes from ``offset`` to ``size`` in chunks of ``chunk_size``, many requests in
    flight per window (one at a time is a round trip per 32 KiB), the window bounding what
    is held in memory. A file that ends early yields what there is; the caller sees it."""
    pending = bytearray()
    ended = False
    while offset < size and not ended:
        window = min(PIPELINE_WINDOW, size - offset)
        spans = [
            (offset + at, min(REQUEST_SIZE, window - at)) for at in range(0, window, REQUEST_SIZE)
        ]
        for data in remote.readv(spans):
            if not data:
                ended = True
                break
            offset += len(data)
            pending += data
            if len(pending) >= chunk_size:
                yield bytes(pending)
                pending.clear()
    if pending:
        yield bytes(pending)


def _exists(sftp: paramiko.SFTPClient, path: str) -> bool:
    try:
        sftp.stat(path)
    except FileNotFoundError:
        return False
    return True

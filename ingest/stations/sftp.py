"""A docking station that exposes its storage over SFTP (asyncssh).

The server's host key is pinned in the station's settings: a station that presents another
key is refused before the password is sent, never trusted on first use. A transfer that breaks
reconnects and continues from the first byte not yet handed on (SFTP reads at an offset), so
every byte reaches the digest exactly once.

asyncssh rather than paramiko because the client's own work per byte decides the speed here:
on the same two cores, a 2 x 512 MiB download from the test server took 9.9-11.3 s of CPU with
paramiko's `get` and 4.8 s with asyncssh's over AES-GCM (measured once each, beside
bench/stations.py). Its connections live on one event loop
(ingest.stations.event_loop); the ingest's worker threads wait on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import posixpath
import stat
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

import asyncssh
from asyncssh.encryption import get_default_encryption_algs

from config.settings import StationConfig
from ingest.naming import UnsafeName, check_relative_path, display_name, is_temporary
from ingest.stations import event_loop
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
# asyncssh logs every connection and channel at INFO; the adapter reports what matters itself.
logging.getLogger("asyncssh").setLevel(logging.WARNING)

T = TypeVar("T")

# A timed-out wait is TimeoutError, an OSError.
BROKEN = (OSError, EOFError, asyncssh.Error)
# AES-GCM first: one authenticated-encryption call per packet, in hardware on any CPU with
# AES-NI (asyncssh's own first choice, ChaCha20-Poly1305, took 1.4 times the CPU here); the
# rest of asyncssh's defaults follow for stations that offer no GCM.
ENCRYPTION = [
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
    *(alg.decode() for alg in get_default_encryption_algs() if b"-gcm@" not in alg),
]
# Bytes requested ahead of what the vault has taken: the memory bound of one transfer, and
# enough that the link never waits for a round trip between chunks.
READ_AHEAD_BYTES = 16 * 1024 * 1024
# One read request at most (less where the server says so): OpenSSH's own limit, and small
# enough that a transfer flows evenly rather than in bursts of megabytes.
REQUEST_BYTES = 256 * 1024


class _HostKeyWitness(asyncssh.SSHClient):
    """Sees the key a server presented when it is not the pinned one (asyncssh asks this
    client only then), so the refusal can name it; never accepts it."""

    presented: asyncssh.SSHKey | None = None

    def validate_host_public_key(
        self, host: str, addr: str, port: int, key: asyncssh.SSHKey
    ) -> bool:
        self.presented = key
        return False


class SftpStation:
    def __init__(self, config: StationConfig, *, retry_delay: float = 1.0) -> None:
        assert config.host is not None and config.host_key is not None
        self.name = config.name
        self.config = config
        self.root = (str(config.path) if config.path is not None else ".").encode("utf-8")
        self.retry_delay = retry_delay
        self.pinned: asyncssh.SSHKey | None = None
        self._free: int | None = None
        self.key_error: str | None = None
        try:
            self.pinned = asyncssh.import_public_key(config.host_key.strip())
        except (asyncssh.KeyImportError, ValueError) as exc:  # said at each contact, as doctor does
            self.key_error = (
                f"station {self.name}: host_key is not a public key in OpenSSH form ({exc});"
                " copy the station's line from `ssh-keyscan`, without the host name"
            )

    def _where(self) -> str:
        return f"SFTP server {self.config.host}:{self.config.port or 22}"

    @contextlib.contextmanager
    def _session(self) -> Iterator[_Sftp]:
        if self.key_error is not None:
            raise StationUnavailable(self.key_error)
        try:
            password = self.config.secret()
        except ValueError as exc:  # the password file could not be read
            raise StationUnavailable(str(exc)) from None
        witness = _HostKeyWitness()
        timeout = self.config.timeout_seconds
        try:
            # The connection's own timeouts bound the wait; the outer one is a last resort.
            connection, client = event_loop.run(self._connect(password, witness), 3 * timeout)
        except asyncssh.HostKeyNotVerifiable:
            raise StationUnavailable(self._refused_key(witness.presented)) from None
        except asyncssh.PermissionDenied:
            raise StationUnavailable(
                f"station {self.name}: the {self._where()} refused the login of"
                f" {self.config.username!r}; check its username and password"
            ) from None
        except OSError as exc:
            raise StationUnavailable(
                f"station {self.name}: cannot reach the {self._where()}: {exc}"
            ) from None
        except (asyncssh.Error, ValueError) as exc:  # ValueError: asyncssh's own settings
            raise StationUnavailable(
                f"station {self.name}: the {self._where()} failed: {exc}"
            ) from None
        try:
            yield _Sftp(client, timeout)
        except BaseException:
            # Broken, hung or abandoned: dropped at once (a polite close would wait up to
            # the timeout again on a station that stopped answering).
            with contextlib.suppress(*BROKEN):
                event_loop.run(_abort(connection), timeout)
            raise
        with contextlib.suppress(*BROKEN):
            event_loop.run(_close(connection, client), timeout)

    async def _connect(
        self, password: str, witness: _HostKeyWitness
    ) -> tuple[asyncssh.SSHClientConnection, asyncssh.SFTPClient]:
        config = self.config
        connection = await asyncssh.connect(
            config.host or "", config.port or 22,
            known_hosts=([self.pinned], [], []), client_factory=lambda: witness,
            username=config.username or "", password=password, preferred_auth="password",
            client_keys=None, agent_path=None, config=[], encryption_algs=ENCRYPTION,
            connect_timeout=config.timeout_seconds, login_timeout=config.timeout_seconds,
            keepalive_interval=config.timeout_seconds, keepalive_count_max=3,
        )  # fmt: skip
        try:
            # Names as bytes: a name that is not UTF-8 is listed (and skipped), not an error.
            client = await connection.start_sftp_client(path_encoding=None)
        except BaseException:
            connection.abort()
            raise
        return connection, client

    def _refused_key(self, presented: asyncssh.SSHKey | None) -> str:
        shown = (
            f"host key {presented.get_algorithm()} {presented.get_fingerprint()}"
            if presented is not None
            else "no host key of the pinned type"
        )
        return (
            f"station {self.name}: the {self._where()} presented {shown}, not the one"
            " configured: refusing to connect (if the station was replaced, update host_key)"
        )

    def _remote(self, rel: bytes) -> bytes:
        check_relative_path(rel)
        return posixpath.join(self.root, rel)

    # --- listing ----------------------------------------------------------------------

    def list_files(self) -> list[Listing]:
        try:
            with self._session() as sftp:
                found = list(self._walk(sftp, b""))
                self._free = sftp.free_bytes(self.root)
        except BROKEN as exc:
            raise StationUnavailable(f"station {self.name}: listing failed: {exc}") from None
        return without_sidecars(found)

    def _walk(self, sftp: _Sftp, rel_dir: bytes) -> Iterator[Listing]:
        for entry in sftp.call(sftp.client.readdir(posixpath.join(self.root, rel_dir))):
            name, attrs = entry.filename, entry.attrs
            assert isinstance(name, bytes)  # path_encoding=None
            if name in (b".", b".."):
                continue
            rel = posixpath.join(rel_dir, name) if rel_dir else name
            try:
                rel.decode("utf-8")
            except UnicodeDecodeError:  # the custodian fetches it by hand
                log.warning("station file with an undecodable name skipped",
                            extra={"station": self.name, "file": display_name(rel)})  # fmt: skip
                continue
            mode = attrs.permissions or 0
            if stat.S_ISDIR(mode):
                if rel_dir or name != ACK_DIR.encode():
                    yield from self._walk(sftp, rel)
            elif stat.S_ISREG(mode):
                try:
                    check_relative_path(rel)
                except UnsafeName:
                    continue
                device = rel.split(b"/", 1)[0] if b"/" in rel else None
                yield Listing(
                    rel, attrs.size or 0, int(attrs.mtime or 0) * 1_000_000_000, device,
                    temporary=is_temporary(name),
                )  # fmt: skip

    def _check_unchanged(self, sftp: _Sftp, path: bytes, listing: Listing) -> None:
        try:
            now = sftp.call(sftp.client.stat(path))
        except asyncssh.SFTPNoSuchFile:
            raise StationUnavailable(
                f"station {self.name}: {display_name(listing.rel_path)} is gone"
            ) from None
        if (now.size, int(now.mtime or 0) * 1_000_000_000) != (listing.size, listing.mtime_ns):
            raise SourceChanged(f"{display_name(listing.rel_path)} changed since it was listed")

    # --- reading ----------------------------------------------------------------------

    def read(self, listing: Listing, *, chunk_size: int) -> Iterator[bytes]:
        path = self._remote(listing.rel_path)

        def attempt(offset: int) -> Iterator[bytes]:
            with self._session() as sftp:
                self._check_unchanged(sftp, path, listing)
                with sftp.opened(path) as remote:
                    for chunk in sftp.read_ahead(remote, offset, listing.size, chunk_size):
                        offset += len(chunk)
                        yield chunk
                    if offset < listing.size:
                        raise SourceChanged(
                            f"{display_name(listing.rel_path)} shrank while it was being copied"
                        )
                    if sftp.call(_read(remote, 1, offset)):
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
                    with sftp.opened(path) as remote:
                        return sftp.call(_read_all(remote, limit + 1))
                except asyncssh.SFTPNoSuchFile:
                    return None
        except BROKEN as exc:
            raise StationUnavailable(f"station {self.name}: {exc}") from None

    def free_bytes(self) -> int | None:
        """As the last listing found it (statvfs@openssh.com, which OpenSSH offers); None
        from a server without that extension."""
        return self._free

    # --- acknowledging ----------------------------------------------------------------

    def acknowledge(self, listing: Listing) -> str:
        mode = self.config.acknowledge
        if mode == "none":
            return "left on station"
        with self._session() as sftp:
            files = _SftpFiles(self.root, sftp, self._remote)
            return acknowledge_on(files, listing, mode=mode, station=self.name, broken=BROKEN)


class _Sftp:
    """One SFTP session, called from a worker thread: each call runs on the event loop and
    is waited for at most the station's timeout."""

    def __init__(self, client: asyncssh.SFTPClient, timeout: float) -> None:
        self.client, self.timeout = client, timeout

    def call(self, operation: Awaitable[T]) -> T:
        return event_loop.run(_awaited(operation), self.timeout)

    def free_bytes(self, path: bytes) -> int | None:
        try:
            space = self.call(self.client.statvfs(path))
        except asyncssh.SFTPError:  # unsupported or refused: the listing stands without it
            return None
        return space.bavail * space.frsize

    @contextlib.contextmanager
    def opened(self, path: bytes) -> Iterator[asyncssh.SFTPClientFile]:
        # block_size=0: each read is one request (read_ahead makes them), not asyncssh's own
        # parallel reader, whose tasks outlive a read that is cancelled.
        remote = self.call(self.client.open(path, "rb", block_size=0))
        yield remote  # on any error the session drops the connection, and the file with it
        with contextlib.suppress(*BROKEN):
            self.call(remote.close())

    def read_ahead(
        self, remote: asyncssh.SFTPClientFile, offset: int, size: int, chunk_size: int
    ) -> Iterator[bytes]:
        """The bytes from ``offset`` to ``size`` in chunks of about ``chunk_size``, read by
        requests kept in flight on the event loop while the vault takes each chunk (one at a
        time would be a round trip per request). Waits at most the timeout for the next
        chunk once the vault wants it. A file that ends early yields what there is; the
        caller sees the shortfall."""
        piece = min(REQUEST_BYTES, self.client.limits.max_read_len or REQUEST_BYTES)
        ahead = _ReadAhead(remote, offset, size, piece, max(1, READ_AHEAD_BYTES // piece))
        try:
            while not ahead.finished:
                data = self.call(ahead.next_chunk(chunk_size))
                if data:
                    yield data
        finally:
            with contextlib.suppress(*BROKEN):
                self.call(ahead.cancel())


class _ReadAhead:
    """One file's read requests, in order, on the event loop (each method runs there)."""

    def __init__(
        self, remote: asyncssh.SFTPClientFile, offset: int, size: int, piece: int, depth: int
    ) -> None:
        self.remote, self.size, self.piece, self.depth = remote, size, piece, depth
        self.ask_at = offset
        self.in_flight: deque[tuple[int, int, asyncio.Task[bytes]]] = deque()
        self.ended = False  # the file ended before size

    @property
    def finished(self) -> bool:
        return self.ended or (self.ask_at >= self.size and not self.in_flight)

    def _top_up(self) -> None:
        while len(self.in_flight) < self.depth and self.ask_at < self.size:
            wanted = min(self.piece, self.size - self.ask_at)
            task = asyncio.ensure_future(_read(self.remote, wanted, self.ask_at))
            self.in_flight.append((self.ask_at, wanted, task))
            self.ask_at += wanted

    async def next_chunk(self, chunk_size: int) -> bytes:
        self._top_up()
        parts: list[bytes] = []
        got = 0
        while got < chunk_size and self.in_flight:
            at, wanted, task = self.in_flight[0]
            data = await task
            self.in_flight.popleft()
            while data and len(data) < wanted:  # a server may answer short of the end
                more = await _read(self.remote, wanted - len(data), at + len(data))
                if not more:
                    break
                data += more
            parts.append(data)
            got += len(data)
            self._top_up()
            if len(data) < wanted:
                self.ended = True
                break
        return b"".join(parts)

    async def cancel(self) -> None:
        for _, _, task in self.in_flight:
            task.cancel()
        await asyncio.gather(*(task for _, _, task in self.in_flight), return_exceptions=True)
        self.in_flight.clear()


class _SftpFiles:
    """Acknowledging over one SFTP session (base.acknowledge_on)."""

    def __init__(self, root: bytes, sftp: _Sftp, remote: Callable[[bytes], bytes]) -> None:
        self.root, self.sftp, self.remote = root, sftp, remote

    def exists(self, rel: bytes) -> bool:
        return self._exists(self.remote(rel))

    def delete(self, rel: bytes) -> None:
        self.sftp.call(self.sftp.client.remove(self.remote(rel)))

    def move_to_ack_dir(self, rel: bytes) -> None:
        client = self.sftp.client
        target = posixpath.join(self.root, ACK_DIR.encode(), rel)
        directory = self.root
        for part in posixpath.dirname(posixpath.join(ACK_DIR.encode(), rel)).split(b"/"):
            directory = posixpath.join(directory, part)
            if not self._exists(directory):
                self.sftp.call(client.mkdir(directory))
        candidate, n = target, 0
        while self._exists(candidate):  # the station's earlier file of that name stays
            n += 1
            candidate = target + b".%d" % n
        # SFTP v3 rename fails rather than replace.
        self.sftp.call(client.rename(self.remote(rel), candidate))

    def _exists(self, path: bytes) -> bool:
        try:
            self.sftp.call(self.sftp.client.stat(path))
        except asyncssh.SFTPNoSuchFile:
            return False
        return True


async def _awaited(operation: Awaitable[T]) -> T:
    return await operation


async def _read(remote: asyncssh.SFTPClientFile, size: int, offset: int) -> bytes:
    data = await remote.read(size, offset)
    assert isinstance(data, bytes)  # opened in binary mode
    return data


async def _read_all(remote: asyncssh.SFTPClientFile, size: int) -> bytes:
    """Up to ``size`` bytes from the start, over as many requests as the server needs (it
    may answer each with less than asked)."""
    parts: list[bytes] = []
    got = 0
    while got < size and (data := await _read(remote, size - got, got)):
        parts.append(data)
        got += len(data)
    return b"".join(parts)


async def _abort(connection: asyncssh.SSHClientConnection) -> None:
    connection.abort()


async def _close(connection: asyncssh.SSHClientConnection, client: asyncssh.SFTPClient) -> None:
    client.exit()
    connection.close()
    await connection.wait_closed()

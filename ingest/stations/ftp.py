"""A docking station that exposes its storage over FTP or FTPS (ftplib).

Names travel as raw bytes: ftplib runs with the latin-1 codec, which maps every byte to one
character and back, so a name that is not UTF-8 is neither refused nor altered. A transfer
that breaks (the station rebooted, the network dropped) reconnects and resumes with REST
from the first byte not yet handed on, so every byte reaches the digest exactly once.
"""

from __future__ import annotations

import contextlib
import ftplib
import posixpath
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime

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

CODEC = "latin-1"  # byte-transparent: see the module's docstring
# Connection-level failures: the transfer is resumed on a new connection.
BROKEN = (OSError, EOFError, ftplib.error_temp, ftplib.error_reply, ftplib.error_proto)


def _raw(text: str) -> bytes:
    return text.encode(CODEC)


def _text(raw: bytes) -> str:
    return raw.decode(CODEC)


def _mtime_ns(modify: str) -> int:
    """An MLSD ``modify`` fact (YYYYMMDDHHMMSS[.sss], UTC) in nanoseconds."""
    whole, _, fraction = modify.partition(".")
    moment = datetime.strptime(whole, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    return int(moment.timestamp()) * 1_000_000_000 + int((fraction + "000000000")[:9])


class FtpStation:
    def __init__(self, config: StationConfig, *, retry_delay: float = 1.0) -> None:
        assert config.host is not None and config.username is not None
        self.name = config.name
        self.config = config
        self.root = str(config.path) if config.path is not None else ""
        self.retry_delay = retry_delay

    # --- connections ------------------------------------------------------------------

    def _where(self) -> str:
        port = self.config.port or 21
        return f"{self.config.kind.upper()} server {self.config.host}:{port}"

    def _tls_context(self) -> ssl.SSLContext:
        # ftplib's own default does not verify the server at all; this one checks the chain
        # and the host name, as a browser would.
        ca = self.config.tls_ca_file
        try:
            return ssl.create_default_context(cafile=str(ca) if ca else None)
        except (OSError, ssl.SSLError) as exc:
            raise StationUnavailable(
                f"station {self.name}: cannot read its tls_ca_file {ca}: {exc}"
            ) from None

    @contextlib.contextmanager
    def _session(self) -> Iterator[ftplib.FTP]:
        config = self.config
        # Plain FTP is what many docking stations speak on their own segment; FTPS is
        # offered (kind = "ftps") and the README recommends it.
        timeout = config.timeout_seconds
        if config.kind == "ftps":
            # S321 is about plain FTP; this is FTP over verified TLS.
            context = self._tls_context()
            ftp: ftplib.FTP = ftplib.FTP_TLS(  # noqa: S321
                timeout=timeout, encoding=CODEC, context=context
            )
        else:
            ftp = ftplib.FTP(timeout=timeout, encoding=CODEC)  # noqa: S321
        try:
            ftp.connect(config.host or "", config.port or 21)
            ftp.login(config.username or "", config.secret())
            if isinstance(ftp, ftplib.FTP_TLS):
                ftp.prot_p()
        except ftplib.error_perm as exc:
            ftp.close()
            raise StationUnavailable(
                f"station {self.name}: the {self._where()} refused the login of"
                f" {config.username!r} ({str(exc)[:200]}); check its username and password"
            ) from None
        except (*BROKEN, ValueError) as exc:
            ftp.close()
            raise StationUnavailable(
                f"station {self.name}: cannot reach the {self._where()}: {exc}"
            ) from None
        try:
            yield ftp
        finally:
            with contextlib.suppress(*BROKEN):
                ftp.quit()
            ftp.close()

    def _remote(self, rel: bytes) -> str:
        check_relative_path(rel)
        return posixpath.join(self.root, _text(rel)) if self.root else _text(rel)

    # --- listing ----------------------------------------------------------------------

    def list_files(self) -> list[Listing]:
        try:
            with self._session() as ftp:
                found = list(self._walk(ftp, ""))
        except BROKEN as exc:
            raise StationUnavailable(f"station {self.name}: listing failed: {exc}") from None
        except ftplib.error_perm as exc:
            raise StationUnavailable(
                f"station {self.name}: cannot list {self.root or 'its home'}: {exc}"
            ) from None
        return without_sidecars(found)

    def _walk(self, ftp: ftplib.FTP, rel_dir: str) -> Iterator[Listing]:
        directory = posixpath.join(self.root, rel_dir) if self.root else (rel_dir or ".")
        for name, facts in ftp.mlsd(directory, facts=["type", "size", "modify"]):
            kind = facts.get("type", "").lower()
            rel = posixpath.join(rel_dir, name) if rel_dir else name
            if kind == "dir":
                if not (not rel_dir and name == ACK_DIR):
                    yield from self._walk(ftp, rel)
            elif kind == "file" and "size" in facts and "modify" in facts:
                raw = _raw(rel)
                try:
                    check_relative_path(raw)
                except UnsafeName:
                    continue
                device = raw.split(b"/", 1)[0] if b"/" in raw else None
                yield Listing(
                    raw, int(facts["size"]), _mtime_ns(facts["modify"]), device,
                    temporary=is_temporary(_raw(name)),
                )  # fmt: skip
            # cdir, pdir, links and devices are not recordings.

    def _facts(self, ftp: ftplib.FTP, path: str) -> tuple[int, int] | None:
        """(size, mtime_ns) of one file, or None if it is not there."""
        try:
            reply = ftp.sendcmd(f"MLST {path}")
        except ftplib.error_perm:
            return None
        line = next((ln.strip() for ln in reply.splitlines()[1:-1]), "")
        facts = dict(part.split("=", 1) for part in line.split(" ", 1)[0].split(";") if "=" in part)
        facts = {k.lower(): v for k, v in facts.items()}
        if facts.get("type", "").lower() != "file":
            return None
        return int(facts["size"]), _mtime_ns(facts["modify"])

    def _check_unchanged(self, ftp: ftplib.FTP, path: str, listing: Listing) -> None:
        now = self._facts(ftp, path)
        if now is None:
            raise StationUnavailable(
                f"station {self.name}: {display_name(listing.rel_path)} is gone"
            )
        if now != (listing.size, listing.mtime_ns):
            raise SourceChanged(f"{display_name(listing.rel_path)} changed since it was listed")

    # --- reading ----------------------------------------------------------------------

    def read(self, listing: Listing, *, chunk_size: int) -> Iterator[bytes]:
        path = self._remote(listing.rel_path)

        def attempt(offset: int) -> Iterator[bytes]:
            with self._session() as ftp:
                self._check_unchanged(ftp, path, listing)
                yield from self._retrieve(ftp, path, listing, offset, chunk_size)
                self._check_unchanged(ftp, path, listing)

        return resume_on_break(
            attempt, station=self.name, listing=listing, retries=self.config.transfer_retries,
            delay=self.retry_delay, broken=BROKEN,
        )  # fmt: skip

    def _retrieve(
        self, ftp: ftplib.FTP, path: str, listing: Listing, offset: int, chunk_size: int
    ) -> Iterator[bytes]:
        ftp.voidcmd("TYPE I")
        if offset >= listing.size:
            return
        with ftp.transfercmd(f"RETR {path}", rest=offset or None) as data:
            while offset < listing.size:
                chunk = data.recv(min(chunk_size, listing.size - offset))
                if not chunk:
                    break
                offset += len(chunk)
                yield chunk
            extra = data.recv(1) if offset == listing.size else b""
        ftp.voidresp()  # 226 here means the server sent the whole file as it is now
        if extra:
            raise SourceChanged(f"{display_name(listing.rel_path)} grew while it was being copied")
        if offset < listing.size:
            raise SourceChanged(
                f"{display_name(listing.rel_path)} shrank while it was being copied"
            )

    def read_small(self, rel_path: bytes, *, limit: int) -> bytes | None:
        path = self._remote(rel_path)
        try:
            with self._session() as ftp:
                if self._facts(ftp, path) is None:
                    return None
                parts: list[bytes] = []
                ftp.voidcmd("TYPE I")
                with ftp.transfercmd(f"RETR {path}") as data:
                    while sum(map(len, parts)) <= limit and (chunk := data.recv(65536)):
                        parts.append(chunk)
                with contextlib.suppress(*BROKEN):
                    ftp.voidresp()  # 426 when we stopped reading early
                return b"".join(parts)[: limit + 1]
        except BROKEN as exc:
            raise StationUnavailable(f"station {self.name}: {exc}") from None

    def free_bytes(self) -> int | None:
        return None  # the protocol has no standard way to say

    # --- acknowledging ----------------------------------------------------------------

    def acknowledge(self, listing: Listing) -> str:
        mode = self.config.acknowledge
        if mode == "none":
            return "left on station"
        with self._session() as ftp:
            return acknowledge_on(
                _FtpFiles(self, ftp), listing, mode=mode, station=self.name,
                broken=(*BROKEN, ftplib.error_perm),
            )  # fmt: skip


class _FtpFiles:
    """Acknowledging over one FTP session (base.acknowledge_on)."""

    def __init__(self, station: FtpStation, ftp: ftplib.FTP) -> None:
        self.station, self.ftp = station, ftp

    def exists(self, rel: bytes) -> bool:
        return self.station._facts(self.ftp, self.station._remote(rel)) is not None

    def delete(self, rel: bytes) -> None:
        self.ftp.delete(self.station._remote(rel))

    def move_to_ack_dir(self, rel: bytes) -> None:
        ftp, root = self.ftp, self.station.root
        target_rel = posixpath.join(ACK_DIR, _text(rel))
        directory = ""
        for part in posixpath.dirname(target_rel).split("/"):
            directory = posixpath.join(directory, part) if directory else part
            with contextlib.suppress(ftplib.error_perm):  # exists already
                ftp.mkd(posixpath.join(root, directory) if root else directory)
        target = posixpath.join(root, target_rel) if root else target_rel
        candidate, n = target, 0
        # RNTO may replace an existing file on some servers: the station's earlier file of
        # the same name is not ours to destroy, so a free name is found first.
        while self.station._facts(ftp, candidate) is not None:
            n += 1
            candidate = f"{target}.{n}"
        ftp.rename(self.station._remote(rel), candidate)

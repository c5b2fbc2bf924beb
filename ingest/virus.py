"""The virus check before a recording is archived: a pluggable scanner fed the sealed copy as
a stream (memory stays flat), with ClamAV as the real one (clamscan reading stdin, or clamd's
INSTREAM). An infected recording is preserved like any other and flagged; a scanner that
cannot run is reported and, by the `scanner_unavailable` setting, holds files on the station
or lets them in marked unscanned. Never silently."""

from __future__ import annotations

import socket
import struct
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from config.settings import Settings
from vault.errors import Unavailable
from vault.models import ScanStatus
from vault.stores.protocol import ObjectStore, read_chunks

# Recordings are 1-4 GB; ClamAV's defaults (100 MB) would skip most of each one and still
# say OK. These raise its limits to what it allows, and make exceeding them a finding.
CLAMSCAN_LIMITS = ("--max-filesize=4000M", "--max-scansize=4000M", "--alert-exceeds-max=yes")
LIMITS_EXCEEDED = "Heuristics.Limits.Exceeded"
CLAMD_CHUNK = 1024 * 1024


class ScannerUnavailable(Unavailable):
    """The scanner could not look at the file (not installed, no signatures, timed out)."""


@dataclass(frozen=True)
class ScanOutcome:
    status: ScanStatus
    detail: str
    engine: str

    def record(self) -> dict[str, str]:
        return {"status": self.status.value, "detail": self.detail, "engine": self.engine}


class Scanner(Protocol):
    engine: str

    def scan(self, chunks: Iterable[bytes]) -> ScanOutcome: ...


def _verdict(engine: str, line: str) -> ScanOutcome:
    """From ClamAV's one-line answer: ``stream: OK`` or ``stream: Signature FOUND``."""
    answer = line.rsplit(": ", 1)[-1].strip()
    if answer == "OK":
        return ScanOutcome(ScanStatus.CLEAN, "no signature matched", engine)
    if answer.endswith(" FOUND"):
        signature = answer.removesuffix(" FOUND")
        if signature.startswith(LIMITS_EXCEEDED):
            return ScanOutcome(
                ScanStatus.UNSCANNED, f"larger than ClamAV can scan ({signature})", engine
            )
        return ScanOutcome(ScanStatus.INFECTED, signature, engine)
    raise ScannerUnavailable(f"{engine} answered {line.strip()[:300]!r}")


class Clamscan:
    def __init__(self, settings: Settings) -> None:
        self.command = [settings.clamscan_path, "--no-summary", "--stdout", *CLAMSCAN_LIMITS]
        if settings.clamav_database is not None:
            self.command += ["-d", str(settings.clamav_database)]
        self.timeout = settings.scan_timeout_seconds
        self.engine = "ClamAV clamscan"

    def scan(self, chunks: Iterable[bytes]) -> ScanOutcome:
        try:
            process = subprocess.Popen(
                [*self.command, "-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )  # fmt: skip
        except OSError as exc:
            raise ScannerUnavailable(
                f"the virus scanner {self.command[0]!r} cannot run ({exc.strerror});"
                " install ClamAV (apt-get install clamav) or set virus_scanner"
            ) from None
        assert process.stdin is not None
        try:
            with process.stdin:
                for chunk in chunks:
                    process.stdin.write(chunk)
        except BrokenPipeError:
            pass  # it stopped reading: its exit status and stderr say why
        process.stdin = None  # closed: communicate() must only read the answers
        try:
            out, err = process.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise ScannerUnavailable(f"clamscan did not finish in {self.timeout:.0f} s") from None
        if process.returncode not in (0, 1):
            problem = err.decode(errors="replace").strip()[-300:]
            raise ScannerUnavailable(f"clamscan failed (status {process.returncode}): {problem}")
        return _verdict(self.engine, out.decode(errors="replace").strip().splitlines()[-1])


class Clamd:
    def __init__(self, settings: Settings) -> None:
        self.path = str(settings.clamd_socket)
        self.timeout = settings.scan_timeout_seconds
        self.engine = f"ClamAV clamd ({self.path})"

    def scan(self, chunks: Iterable[bytes]) -> ScanOutcome:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.settimeout(self.timeout)
                conn.connect(self.path)
                conn.sendall(b"zINSTREAM\0")
                for chunk in chunks:
                    for start in range(0, len(chunk), CLAMD_CHUNK):
                        part = chunk[start : start + CLAMD_CHUNK]
                        conn.sendall(struct.pack("!L", len(part)) + part)
                conn.sendall(struct.pack("!L", 0))
                reply = b""
                while not reply.endswith(b"\0") and (more := conn.recv(4096)):
                    reply += more
        except OSError as exc:
            raise ScannerUnavailable(f"clamd at {self.path} cannot be used: {exc}") from None
        # clamd's StreamMaxLength must exceed the largest recording, or it answers an error.
        return _verdict(self.engine, reply.rstrip(b"\0").decode(errors="replace"))


class ScanningOff:
    engine = "none"

    def scan(self, chunks: Iterable[bytes]) -> ScanOutcome:
        return ScanOutcome(
            ScanStatus.UNSCANNED, "virus scanning is off (virus_scanner = off)", "none"
        )


def make_scanner(settings: Settings) -> Scanner:
    if settings.virus_scanner == "clamscan":
        return Clamscan(settings)
    if settings.virus_scanner == "clamd":
        return Clamd(settings)
    return ScanningOff()


def scan_stored(
    scanner: Scanner, store: ObjectStore, digest: str, *, chunk_size: int, hold: bool
) -> ScanOutcome:
    """Scan a stored object; a scanner that cannot run holds the file (``hold``) or lets it
    in marked unscanned."""
    with store.open(digest) as stream:
        try:
            return scanner.scan(read_chunks(stream, chunk_size))
        except ScannerUnavailable as exc:
            if hold:
                raise ScannerUnavailable(
                    f"virus check impossible, file held on the station: {exc}"
                ) from None
            return ScanOutcome(ScanStatus.UNSCANNED, f"scanner unavailable: {exc}", scanner.engine)

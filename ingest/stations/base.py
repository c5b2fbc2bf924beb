"""The station adapter Protocol: list, read, acknowledge."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from vault.errors import VaultError


class StationUnavailable(VaultError):
    """The station or its file went away or failed mid-operation; try again on a later scan."""


class SourceChanged(StationUnavailable):
    """The file changed while it was being copied: it was not finished after all."""


@dataclass(frozen=True)
class Listing:
    rel_path: bytes  # station-relative, b"/"-separated, validated
    size: int
    mtime_ns: int
    device_dir: bytes | None  # first path component: the device's sub-directory
    # Named like a file still being written (".part", rsync's ".name.XXXXXX" …): listed so a
    # stuck one shows in the SLA, never ingested under that name.
    temporary: bool = False


class StationAdapter(Protocol):
    name: str

    def list_files(self) -> list[Listing]: ...

    def read(self, listing: Listing, *, chunk_size: int) -> Iterator[bytes]:
        """Stream exactly the listed bytes; raise SourceChanged if the file is not as listed."""
        ...

    def read_small(self, rel_path: bytes, *, limit: int) -> bytes | None:
        """A small companion file (a sidecar), or None when there is none."""
        ...

    def acknowledge(self, listing: Listing) -> str:
        """Move or delete the file (and its sidecar) once it is safely in the vault; returns
        what was done."""
        ...

    def free_bytes(self) -> int | None:
        """Free space on the station, where the protocol tells it; None where it does not."""
        ...

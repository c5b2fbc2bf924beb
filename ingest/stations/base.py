"""The station adapter Protocol: list, read, acknowledge."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from ingest.naming import display_name
from ingest.sidecar import sidecar_names
from vault.errors import Unavailable

log = logging.getLogger(__name__)


class StationUnavailable(Unavailable):
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
    # Companions to leave in place when acknowledging (a stem sidecar another recording
    # still needs: ingest.shared_sidecars).
    keep: tuple[bytes, ...] = ()


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


ACK_DIR = "ingested"


class RemoteFiles(Protocol):
    """What acknowledging needs from one open connection to a network station."""

    def exists(self, rel: bytes) -> bool: ...

    def delete(self, rel: bytes) -> None: ...

    def move_to_ack_dir(self, rel: bytes) -> None:
        """Into ingested/ under the same relative path, never over an existing file."""
        ...


def acknowledge_on(
    files: RemoteFiles, listing: Listing, *, mode: str, station: str,
    broken: tuple[type[BaseException], ...],
) -> str:  # fmt: skip
    """Move or delete a recording and its sidecars (the ones there are: an earlier attempt
    may have moved some already) once it is safely in the vault."""
    try:
        for rel in [listing.rel_path, *sidecar_names(listing.rel_path)]:
            if rel in listing.keep or not files.exists(rel):
                continue
            if mode == "delete":
                files.delete(rel)
            else:
                files.move_to_ack_dir(rel)
    except broken as exc:
        raise StationUnavailable(f"station {station}: acknowledging failed: {exc}") from None
    return "deleted from station" if mode == "delete" else f"moved to {ACK_DIR}/"


def without_sidecars(found: list[Listing]) -> list[Listing]:
    """A sidecar travels with its recording; it is never an item of its own."""
    names = {listing.rel_path for listing in found}
    sidecars = {s for n in names for s in sidecar_names(n) if s in names and s != n}
    return [entry for entry in found if entry.rel_path not in sidecars]


def resume_on_break(
    attempt: Callable[[int], Iterator[bytes]],
    *,
    station: str,
    listing: Listing,
    retries: int,
    delay: float,
    broken: tuple[type[BaseException], ...],
) -> Iterator[bytes]:
    """Stream a network station's file: ``attempt(offset)`` opens a connection and yields
    the bytes from ``offset``; when the connection breaks, a new attempt continues from the
    first byte not yet handed on, so each byte reaches the digest exactly once. A file that
    changed is not retried: it was not finished."""
    offset, failures = 0, 0
    retryable: tuple[type[BaseException], ...] = (StationUnavailable, *broken)
    while True:
        try:
            for chunk in attempt(offset):
                offset += len(chunk)
                yield chunk
            return
        except SourceChanged:
            raise
        except retryable as exc:
            if failures >= retries:
                raise StationUnavailable(
                    f"station {station}: {display_name(listing.rel_path)} broke off at byte"
                    f" {offset} of {listing.size} {failures + 1} times: {exc}"
                ) from None
            failures += 1
            log.warning(
                "station transfer interrupted; resuming",
                extra={"station": station, "file": display_name(listing.rel_path),
                       "offset": offset, "error": str(exc)[:200]},
            )  # fmt: skip
            time.sleep(delay * failures)

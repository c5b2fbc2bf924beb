"""Writing what the vault hands out into a new file: never over an existing one, hashed as it
arrives, checked against the digest the vault states, and removed if anything fails (a copy
that failed its check, or half a file, is never left behind)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import BinaryIO, Protocol

from api.cli.shared import err
from vault.errors import Conflict, IntegrityViolation


class Chunks(Iterable[bytes], Protocol):
    def close(self) -> None: ...


@contextmanager
def new_file(out: Path, *, refusal: str) -> Iterator[BinaryIO]:
    """``out``, created now (Conflict naming ``refusal`` when it exists); removed again when
    the block raises, whatever was written."""
    try:
        target = open(out, "xb")  # noqa: SIM115 - closed below
    except FileExistsError:
        raise Conflict(f"{out} exists; {refusal}") from None
    try:
        with target:
            yield target
    except BaseException:
        out.unlink(missing_ok=True)
        raise


def receive(
    target: BinaryIO, chunks: Chunks, *, size: int, label: str, stated: str | None, what: str
) -> str:
    """Write ``chunks`` to ``target`` with a progress bar and return their SHA-256 (hex).

    With ``stated`` (the digest the vault gave), bytes that hash otherwise raise
    IntegrityViolation; the caller's new_file then removes the file. ``what`` names the bytes
    in that message ("the bytes received")."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    hasher = hashlib.sha256()
    columns = (
        TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn()
    )  # fmt: skip
    with closing(chunks), Progress(*columns, console=err, transient=True) as bars:
        task = bars.add_task(label, total=size)
        for chunk in chunks:
            target.write(chunk)
            hasher.update(chunk)
            bars.advance(task, len(chunk))
    actual = hasher.hexdigest()
    if stated is not None and actual != stated:
        raise IntegrityViolation(
            f"{what} hash to {actual}, not the {stated} the vault stated: the file was removed"
        )
    return actual

"""The payload of an export: every byte of evidence reaches the package through
custody.access.delivery.deliver (an exported event per file, committed before the first byte), and
every derivative names the original it came from, how it was made and which of the
original's decoded frames it holds."""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from custody.access.delivery import deliver
from custody.access.watermark import has_audio, made_rendition, make_watermarked_copy
from custody.fixity.checks import check, track_new_objects
from custody.fixity.models import CopyKind
from custody.log.kinds import EventKind
from export.spec import Authorized, ClipSpec
from vault.db import SessionFactory, unit_of_work
from vault.derived import record_derived
from vault.errors import Conflict, IntegrityViolation
from vault.models import (
    DerivedKind,
    EvidenceItem,
    ItemSidecar,
    MediaStatus,
    Rendition,
    RenditionStatus,
    User,
)
from vault.renditions import RenditionFailed, cut_clip, ffmpeg_version, frame_hashes
from vault.stores.factory import Stores
from vault.stores.protocol import Retention, StoredObject, read_chunks

SAFE_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,8}")
FRAME_HASHES = "ffmpeg framehash, SHA-256 of every decoded video frame"


class ExportAborted(Conflict):
    """The export stopped; the message says why. Nothing it wrote is left behind."""


@dataclass(frozen=True)
class PackageFile:
    """One payload file, by its path under the bag's data/ directory."""

    path: str
    item_id: uuid.UUID
    role: str  # original | sidecar | rendition | clip | frames | provenance
    digest: str
    size: int


@dataclass(frozen=True)
class PayloadRun:
    factory: SessionFactory
    stores: Stores
    auth: Authorized
    user: User
    number: str  # the export's own number
    reason: str
    root: Path  # becomes the bag's data/ directory
    workdir: Path
    chunk_size: int
    progress: Callable[[int], None]


def original_path(item: EvidenceItem) -> str:
    """originals/<item id><suffix>: no name from a device ever becomes a path."""
    suffix = Path(item.original_name).suffix
    return f"originals/{item.id}{suffix if SAFE_SUFFIX.fullmatch(suffix) else '.bin'}"


def portable(arguments: list[str], *, source: str, output: str) -> list[str]:
    """ffmpeg's arguments with this server's paths (and any presigned URL) replaced by what a
    reader of the package can follow: the input and output as the package names them."""
    named = []
    for before, argument in zip(["", *arguments], arguments, strict=False):
        if before == "-i":
            named.append(source)
        elif argument.startswith("/") or "://" in argument:
            named.append(output)
        else:
            named.append(argument)
    return named


def _write(chunks: Iterator[bytes], target: Path, progress: Callable[[int], None]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "xb") as out:
        for chunk in chunks:
            out.write(chunk)
            progress(len(chunk))
        out.flush()
        os.fsync(out.fileno())


def _measured(run: PayloadRun, path: str, item: EvidenceItem, role: str) -> PackageFile:
    hasher, size = hashlib.sha256(), 0
    with open(run.root / path, "rb") as made:
        for chunk in read_chunks(made, run.chunk_size):
            hasher.update(chunk)
            size += len(chunk)
    return PackageFile(path, item.id, role, hasher.hexdigest(), size)


def _deliver_to(
    run: PayloadRun,
    item: EvidenceItem,
    path: str,
    *,
    derived: StoredObject | None = None,
    details: dict[str, str] | None = None,
    sealed: bool = False,
) -> None:
    store = run.stores.access if derived is not None and not sealed else run.stores.sealed
    chunks = deliver(
        run.factory,
        store=store,
        stores=run.stores,  # so an original is read at the sealed copy's recorded version
        item_id=item.id,
        kind=EventKind.EXPORTED,
        actor=f"user:{run.user.username}",
        reason=run.reason,
        request=run.auth.request.number,
        chunk_size=run.chunk_size,
        derived=derived,
        details={
            "export": run.number,
            "file": f"data/{path}",
            "recipient": run.auth.recipient,
            **(details or {}),
        },
    )
    _write(chunks, run.root / path, run.progress)


def add_original(run: PayloadRun, item: EvidenceItem) -> PackageFile:
    """The sealed copy, re-hashed while it is copied: a mismatch runs the fixity check (which
    records fixity_failed and repairs from the access copy if it can) and aborts."""
    path = original_path(item)
    try:
        _deliver_to(run, item, path)
    except IntegrityViolation as exc:
        with unit_of_work(run.factory) as session:
            track_new_objects(session)  # a recording newer than the last fixity run
        outcome = check(
            run.factory, run.stores, item.id, CopyKind.SEALED, chunk_size=run.chunk_size
        )
        found = (
            f"yet fixity found it intact ({outcome.detail or 'nothing placed over it'}): try again"
            if outcome.intact
            else f"fixity_failed was recorded ({outcome.detail or 'quarantined'})"
        )
        raise ExportAborted(
            f"the sealed copy of item {item.id} did not match its recorded digest while it"
            f" was read ({exc}); {found}; nothing exported"
        ) from None
    return PackageFile(path, item.id, "original", item.digest, item.size)


def add_sidecars(run: PayloadRun, item: EvidenceItem) -> list[PackageFile]:
    """The station's sidecar files, byte for byte from the sealed store (malformed ones too:
    they are what the station said)."""
    with unit_of_work(run.factory, read_only=True) as session:
        kept = list(
            session.execute(
                select(ItemSidecar)
                .where(ItemSidecar.item_id == item.id)
                .order_by(ItemSidecar.received_at)
            ).scalars()
        )
    files = []
    for number, sidecar in enumerate(kept, start=1):
        path = f"sidecars/{item.id}.{number}.json"
        stored = StoredObject(sidecar.digest, sidecar.size, sidecar.digest, created=False)
        details = {"companion": "sidecar", "station_name": sidecar.name}
        _deliver_to(run, item, path, derived=stored, details=details, sealed=True)
        files.append(PackageFile(path, item.id, "sidecar", sidecar.digest, sidecar.size))
    return files


def _frames(run: PayloadRun, item: EvidenceItem, path: str, clip: ClipSpec | None) -> PackageFile:
    target = run.root / path
    source = str(run.root / original_path(item))  # the bytes just verified, not the store
    try:
        if clip is None:
            frame_hashes(source, target)
        else:
            frame_hashes(source, target, start=clip.start, end=clip.end)
    except RenditionFailed as exc:
        raise ExportAborted(f"ffmpeg could not hash the frames of item {item.id}: {exc}") from None
    return _measured(run, path, item, "frames")


def _provenance(
    run: PayloadRun, item: EvidenceItem, path: str, facts: dict[str, Any]
) -> PackageFile:
    document = {
        "derived_from": {
            "item": str(item.id),
            "original_sha256": item.digest,
            "original_file": f"data/{original_path(item)}",
        },
        **facts,
    }
    (run.root / path).write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    return _measured(run, path, item, "provenance")


def add_rendition(run: PayloadRun, item: EvidenceItem, *, watermarked: bool) -> list[PackageFile]:
    """The item's standard MP4 rendition (or a copy with the recipient burned in), with the
    frame hashes of the decoded original it was made from. An unreadable recording has no
    rendition: the package says so instead."""
    with unit_of_work(run.factory, read_only=True) as session:
        status = session.execute(
            select(Rendition.status).where(Rendition.item_id == item.id)
        ).scalar_one_or_none()
        if status == RenditionStatus.FAILED or item.media_status == MediaStatus.UNREADABLE:
            return []  # ffmpeg cannot read it: the original goes on its own
        rendition = made_rendition(session, item)  # not made yet: Conflict, try later
        made = {
            "ffmpeg_version": rendition.ffmpeg_version,
            "arguments": portable(
                rendition.arguments or [],
                source=f"access copy sha256:{item.digest}",
                output=f"rendition sha256:{rendition.digest}",
            ),
            "sha256": rendition.digest,
            "size": rendition.size,
        }
        copy = (
            make_watermarked_copy(
                factory=run.factory,
                store=run.stores.access,
                rendition=rendition,
                item=item,
                request=run.auth.request,
                user=run.user,
                workdir=run.workdir,
                chunk_size=run.chunk_size,
                text=f"{run.auth.recipient} | {run.number}",
                made_for=run.number,
            )
            if watermarked
            else None
        )
    base = f"renditions/{item.id}"
    facts: dict[str, Any] = {"file": f"data/{base}.mp4", "made_from_access_copy": made}
    if copy is None:
        assert rendition.digest is not None and rendition.size is not None
        derived = StoredObject(rendition.digest, rendition.size, rendition.digest, created=False)
        _deliver_to(run, item, f"{base}.mp4", derived=derived, details={"derivative": "rendition"})
    else:
        facts["watermarked"] = {
            "text": copy.text,
            "ffmpeg_version": ffmpeg_version(),
            "arguments": portable(
                copy.arguments,
                source=f"rendition sha256:{rendition.digest}",
                output=f"data/{base}.mp4",
            ),
            "sha256": copy.stored.digest,
        }
        _deliver_to(
            run,
            item,
            f"{base}.mp4",
            derived=copy.stored,
            details={"derivative": "rendition", "watermark": copy.text},
        )
    frames = _frames(run, item, f"{base}.original-frames.txt", None)
    facts["original_frames"] = {
        "file": f"data/{frames.path}",
        "method": FRAME_HASHES,
        "covers": "every frame of the original",
    }
    made_file = _measured(run, f"{base}.mp4", item, "rendition")
    return [made_file, frames, _provenance(run, item, f"{base}.provenance.json", facts)]


def add_clip(run: PayloadRun, item: EvidenceItem, clip: ClipSpec) -> list[PackageFile]:
    """A lossless clip of the time range (FFV1 keeps the decoded frames bit for bit, so the
    clip's own framehash equals the listed frames of the original), kept in the access store
    so the exported event's digest names bytes that still exist."""
    base = f"clips/{item.id}.{clip.start:g}-{clip.end:g}s"
    run.workdir.mkdir(parents=True, exist_ok=True)
    made = run.workdir / f"clip-{uuid.uuid4()}.mkv"
    try:
        try:
            arguments = cut_clip(
                str(run.root / original_path(item)),
                made,
                start=clip.start,
                end=clip.end,
                has_audio=has_audio(item),
            )
        except RenditionFailed as exc:
            raise ExportAborted(f"ffmpeg could not cut the clip of item {item.id}: {exc}") from None
        with open(made, "rb") as stream:
            stored = run.stores.access.put(
                read_chunks(stream, run.chunk_size), retention=Retention(until=item.retain_until)
            )
    finally:
        made.unlink(missing_ok=True)
    record_derived(
        run.factory, item_id=item.id, kind=DerivedKind.CLIP, stored=stored, made_for=run.number
    )
    span = f"{clip.start:g}-{clip.end:g}"
    _deliver_to(
        run, item, f"{base}.mkv", derived=stored, details={"derivative": "clip", "seconds": span}
    )
    frames = _frames(run, item, f"{base}.original-frames.txt", clip)
    facts = {
        "file": f"data/{base}.mkv",
        "range_seconds": {"start": clip.start, "end": clip.end},
        "made": {
            "ffmpeg_version": ffmpeg_version(),
            "arguments": portable(
                arguments, source=f"data/{original_path(item)}", output=f"data/{base}.mkv"
            ),
            "note": "lossless FFV1 video: decoding the clip gives the original's frames",
        },
        "original_frames": {
            "file": f"data/{frames.path}",
            "method": FRAME_HASHES,
            "covers": f"the frames of the original from {span} s",
        },
    }
    clip_file = PackageFile(f"{base}.mkv", item.id, "clip", stored.digest, stored.size)
    return [clip_file, frames, _provenance(run, item, f"{base}.provenance.json", facts)]

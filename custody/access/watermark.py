"""Watermarked copies: a rendition with the requester, request number and time burned into
every frame, made per delivery and kept in the access store (a derived_copy row) so the
custody record's digest names bytes that still exist, and that fixity and destruction find."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from custody.access.models import AccessRequest
from vault.db import SessionFactory, utcnow
from vault.derived import record_derived
from vault.errors import Conflict
from vault.models import DerivedKind, EvidenceItem, Rendition, RenditionStatus, User
from vault.renditions import RenditionFailed, watermark
from vault.stores.protocol import ObjectStore, Retention, StoredObject, read_chunks


@dataclass(frozen=True)
class WatermarkedCopy:
    stored: StoredObject
    rendition_digest: str
    text: str
    arguments: list[str]  # ffmpeg's, for the provenance of an exported copy


def made_rendition(session: Session, item: EvidenceItem) -> Rendition:
    rendition = session.execute(
        select(Rendition).where(Rendition.item_id == item.id)
    ).scalar_one_or_none()
    if rendition is None or rendition.status == RenditionStatus.RUNNING:
        raise Conflict("this item's rendition is not made yet; try again in a few minutes")
    if rendition.status == RenditionStatus.FAILED:
        raise Conflict(
            f"no rendition of this item exists: ffmpeg could not read it ({rendition.error})"
        )
    return rendition


def has_audio(item: EvidenceItem) -> bool:
    streams = (item.probe or {}).get("streams", [])
    return any(s.get("type") == "audio" for s in streams)


def make_watermarked_copy(
    *,
    factory: SessionFactory,
    store: ObjectStore,
    rendition: Rendition,
    item: EvidenceItem,
    request: AccessRequest,
    user: User,
    workdir: Path,
    chunk_size: int,
    text: str | None = None,
    made_for: str | None = None,
) -> WatermarkedCopy:
    """``text`` is burned in; by default the requester, request number and time. The copy is
    recorded as the item's derived copy, made for ``made_for`` (default: the request)."""
    assert rendition.digest is not None
    text = text or f"{user.username} | {request.number} | {utcnow():%Y-%m-%d %H:%M:%S} UTC"
    workdir.mkdir(parents=True, exist_ok=True)
    target = workdir / f"watermarked-{uuid.uuid4()}.mp4"
    try:
        try:
            arguments = watermark(
                store.media_source(rendition.digest), target, text, has_audio=has_audio(item)
            )
        except RenditionFailed as exc:
            raise Conflict(f"the watermarked copy could not be made: {exc}") from None
        with open(target, "rb") as made:
            stored = store.put(
                read_chunks(made, chunk_size), retention=Retention(until=item.retain_until)
            )
    finally:
        target.unlink(missing_ok=True)
    record_derived(
        factory,
        item_id=item.id,
        kind=DerivedKind.WATERMARKED_COPY,
        stored=stored,
        made_for=made_for or request.number,
    )
    return WatermarkedCopy(stored, rendition.digest, text, arguments)

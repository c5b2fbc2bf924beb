"""The rendition job: make each item's standard MP4 from its access copy, store it in the
access store, record rendition_made (digest, ffmpeg version and arguments) or rendition_failed
(ffmpeg's reason). Runs outside any ingest transaction; an unreadable item stays sealed."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from custody.log.append import append_event
from custody.log.kinds import EventKind
from ingest.claims import CLAIM_LEASE, claimer_is_dead
from ingest.pipeline import IngestContext
from vault.db import unit_of_work, utcnow
from vault.models import (
    EvidenceItem,
    ItemStatus,
    MediaStatus,
    Rendition,
    RenditionStatus,
    ScanStatus,
)
from vault.renditions import RenditionFailed, ffmpeg_version, transcode
from vault.stores.protocol import Retention, StoredObject, read_chunks

log = logging.getLogger(__name__)

RENDITION_ACTOR = "system:rendition"
RENDITION_TIMEOUT_FLOOR = 600.0  # seconds
RENDITION_TIMEOUT_PER_SECOND = 3.0  # of recording


def _new_claim(session: Session, worker: str) -> uuid.UUID | None:
    item_id = session.execute(
        select(EvidenceItem.id)
        .where(EvidenceItem.status == ItemStatus.PRESERVED)
        .where(~exists().where(Rendition.item_id == EvidenceItem.id))
        # An infected recording gets no rendition unless someone released it (in custody).
        .where(
            or_(
                EvidenceItem.scan_status != ScanStatus.INFECTED,
                EvidenceItem.scan_released_by.is_not(None),
            )
        )
        .order_by(EvidenceItem.ingested_at)
        .limit(1)
    ).scalar_one_or_none()
    if item_id is None:
        return None
    try:
        with session.begin_nested():
            session.add(
                Rendition(item_id=item_id, status=RenditionStatus.RUNNING, claimed_by=worker)
            )
    except IntegrityError:  # another worker claimed it first: the caller asks again
        return uuid.UUID(int=0)
    return item_id


def _stale_claim(session: Session, worker: str, now: datetime) -> uuid.UUID | None:
    rows = session.execute(
        select(Rendition)
        .where(Rendition.status == RenditionStatus.RUNNING)
        .where(or_(Rendition.claimed_by.is_(None), Rendition.claimed_by != worker))
        .with_for_update(skip_locked=True)
    ).scalars()
    for row in rows:
        if claimer_is_dead(row.claimed_by) or now - row.started_at > CLAIM_LEASE:
            row.claimed_by, row.started_at = worker, now
            return row.item_id
    return None


def claim_rendition(ctx: IngestContext) -> uuid.UUID | None:
    while True:
        with unit_of_work(ctx.factory) as session:
            claimed = _new_claim(session, ctx.worker)
            if claimed is None:
                claimed = _stale_claim(session, ctx.worker, utcnow())
        if claimed != uuid.UUID(int=0):
            return claimed


def _finish(
    ctx: IngestContext,
    item_id: uuid.UUID,
    data: dict[str, Any],
    *,
    made: StoredObject | None,
    arguments: list[str] | None = None,
    reason: str | None = None,
) -> None:
    with unit_of_work(ctx.factory) as session:
        row = session.execute(
            select(Rendition).where(Rendition.item_id == item_id).with_for_update()
        ).scalar_one()
        row.status = RenditionStatus.MADE if made else RenditionStatus.FAILED
        row.finished_at, row.claimed_by = utcnow(), None
        row.digest = made.digest if made else None
        row.size = made.size if made else None
        row.ffmpeg_version = ffmpeg_version()
        row.arguments, row.error = arguments, reason
        kind = EventKind.RENDITION_MADE if made else EventKind.RENDITION_FAILED
        append_event(session, item_id=item_id, kind=kind, actor=RENDITION_ACTOR, data=data)


def render_item(ctx: IngestContext, item_id: uuid.UUID) -> bool:
    """Make one item's rendition; True when made, False when ffmpeg could not."""
    with unit_of_work(ctx.factory, read_only=True) as session:
        item = session.get(EvidenceItem, item_id)
        assert item is not None
        digest, retain_until, locator = item.digest, item.retain_until, item.access_locator
        unreadable = item.probe_error if item.media_status == MediaStatus.UNREADABLE else None
        seconds = (item.duration_ms or 0) / 1000
    workdir = ctx.settings.data_dir / "work"
    workdir.mkdir(parents=True, exist_ok=True)
    target = workdir / f"rendition-{uuid.uuid4()}.mp4"
    try:
        if unreadable is not None:
            # The probe already found no readable container: ffmpeg is not run on bytes that
            # are not media (its format guessing can spin on them).
            raise RenditionFailed(unreadable)
        # A slow transcode is normal (a long recording on a small machine); a stuck one is not.
        timeout = RENDITION_TIMEOUT_FLOOR + RENDITION_TIMEOUT_PER_SECOND * seconds
        arguments = transcode(
            ctx.stores.access.media_source(digest, locator=locator), target, timeout=timeout
        )
    except RenditionFailed as exc:
        target.unlink(missing_ok=True)
        log.warning("rendition failed", extra={"item": str(item_id), "reason": str(exc)})
        failure = {
            "source_digest": digest,
            "ffmpeg_version": ffmpeg_version(),
            "reason": str(exc),
        }
        _finish(ctx, item_id, failure, made=None, reason=str(exc))
        return False
    try:
        with open(target, "rb") as made:
            stored = ctx.stores.access.put(
                read_chunks(made, ctx.settings.chunk_size),
                retention=Retention(until=retain_until),
            )
    finally:
        target.unlink(missing_ok=True)
    # The source may be a presigned URL: record what was read, never the signature.
    shown = [
        f"<access copy {digest}>" if a.startswith(("http://", "https://", "/")) and a != str(target)
        else "rendition.mp4" if a == str(target) else a
        for a in arguments
    ]  # fmt: skip
    data: dict[str, Any] = {
        "digest": stored.digest,
        "size": stored.size,
        "source_digest": digest,
        "ffmpeg_version": ffmpeg_version(),
        "arguments": shown,
    }
    _finish(ctx, item_id, data, made=stored, arguments=shown)
    return True


def render_pending(ctx: IngestContext) -> tuple[int, int]:
    """Render every item that has no rendition yet; returns (made, failed)."""
    made = failed = 0
    while (item_id := claim_rendition(ctx)) is not None:
        if render_item(ctx, item_id):
            made += 1
        else:
            failed += 1
    return made, failed

"""Handing an item of an approved request to its requester: the one plan that the HTTP route
and `evault fetch` share. The bytes themselves always come from custody.access.delivery.deliver."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from custody.access.delivery import ByteRange, deliver, refuse_if_undeliverable
from custody.access.models import AccessRequest, Purpose
from custody.access.watermark import made_rendition, make_watermarked_copy
from custody.log.kinds import EventKind
from vault.db import SessionFactory
from vault.errors import AccessDenied
from vault.models import EvidenceItem, User
from vault.stores.factory import Stores

DELIVERY_KIND = {
    Purpose.VIEW: EventKind.VIEWED,
    Purpose.COPY_ORIGINAL: EventKind.DOWNLOADED,
    Purpose.COPY_RENDITION: EventKind.DOWNLOADED,
}


@dataclass(frozen=True)
class Handover:
    chunks: Generator[bytes, None, None]  # close it: the custody record says how it ended
    size: int  # of the whole object
    digest: str  # of the whole object
    media_type: str
    filename: str
    inline: bool
    span: ByteRange | None  # None: the whole object


def hand_over(
    *,
    factory: SessionFactory,
    session: Session,
    stores: Stores,
    request: AccessRequest,
    item: EvidenceItem,
    user: User,
    workdir: Path,
    chunk_size: int,
    byte_range: ByteRange | None = None,
) -> Handover:
    """Plan and start one delivery (its custody event is committed before this returns).

    A copy_rendition request gets a freshly watermarked copy, whole; the others get the
    access copy itself, whole or the asked byte range. The sealed set is never read (only a
    repair after a damaged access copy reads it, through the fixity path). Close ``chunks``
    when done: its custody entry then says how the delivery ended.
    """
    store = stores.access
    if request.purpose not in DELIVERY_KIND:
        raise AccessDenied(
            f"request {request.number} is for an {request.purpose.value}: run `evault export`"
        )
    derived, details, span = None, None, byte_range
    # Before anything is made: a copy made for a delivery that is then refused would be
    # bytes no custody event names.
    refuse_if_undeliverable(item)
    if request.purpose == Purpose.COPY_RENDITION:
        copy = make_watermarked_copy(
            factory=factory,
            store=store,
            rendition=made_rendition(session, item),
            item=item,
            request=request,
            user=user,
            workdir=workdir,
            chunk_size=chunk_size,
        )
        derived, span = copy.stored, None  # made for this delivery: always whole
        details = {"watermark": copy.text, "rendition": copy.rendition_digest}
    chunks = deliver(
        factory,
        store=store,
        item_id=item.id,
        kind=DELIVERY_KIND[request.purpose],
        actor=f"user:{user.username}",
        reason=request.reason,
        request=request.number,
        byte_range=span,
        chunk_size=chunk_size,
        derived=derived,
        details=details,
        stores=stores,
    )
    if derived is not None:
        name = f"{request.number}-{item.digest[:12]}.mp4"
        return Handover(chunks, derived.size, derived.digest, "video/mp4", name, False, None)
    return Handover(
        chunks,
        item.size,
        item.digest,
        item.media_type,
        f"{request.number}-{item.original_name}",
        request.purpose == Purpose.VIEW,
        span,
    )

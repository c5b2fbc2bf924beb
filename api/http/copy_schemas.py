"""An item's stored copies and where each stands in the fixity schedule, and its rendition:
GET /items/{ref}/copies and `evault show`."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from custody.fixity.models import FixityState
from custody.log.kinds import EventKind
from custody.log.models import CustodyEvent
from vault.models import EvidenceItem, ItemStatus, Rendition


class CopyOut(BaseModel):
    copy_: str = Field(
        alias="copy", description="sealed, access, rendition, derived:<sha256>, sidecar-…"
    )
    digest: str
    size: int
    status: str = Field(description="unchecked, ok, failed, repaired, or destroyed")
    last_checked_at: datetime | None = None
    quarantined_at: datetime | None = Field(
        default=None, description="set while a failed copy is not trusted or served"
    )
    model_config = ConfigDict(validate_by_name=True, serialize_by_alias=True)


class RenditionOut(BaseModel):
    status: str = Field(description="running, made, failed, or destroyed")
    digest: str | None
    size: int | None
    finished_at: datetime | None
    error: str | None


class CopiesOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{
            "copies": [{"copy": "access", "digest": "9c01…", "size": 734003200, "status": "ok",
                        "last_checked_at": "2026-12-06T02:00:00Z", "quarantined_at": None}],
            "rendition": {"status": "made", "digest": "4be2…", "size": 41000000,
                          "finished_at": "2026-11-24T08:05:12Z", "error": None},
            "destroyed_at": None,
        }]}
    )  # fmt: skip

    copies: list[CopyOut]
    rendition: RenditionOut | None
    destroyed_at: datetime | None = Field(description="when destruction removed every copy")


def copies_out(session: Session, item: EvidenceItem) -> CopiesOut:
    """The schedule's rows; for a destroyed item (whose rows went with its bytes) the two
    copies it had, marked destroyed, with when."""
    found = session.execute(select(Rendition).where(Rendition.item_id == item.id))
    made = found.scalar_one_or_none()
    if item.status == ItemStatus.DESTROYED:
        destroyed_at = session.execute(
            select(CustodyEvent.at).where(
                CustodyEvent.item_id == item.id, CustodyEvent.kind == EventKind.DESTROYED
            )
        ).scalar_one_or_none()
        gone = [CopyOut(copy_=kind, digest=item.digest, size=item.size, status="destroyed")
                for kind in ("sealed", "access")]  # fmt: skip
        rendition = None
        if made is not None:
            rendition = RenditionOut(status="destroyed", digest=made.digest, size=made.size,
                                     finished_at=made.finished_at, error=None)  # fmt: skip
        return CopiesOut(copies=gone, rendition=rendition, destroyed_at=destroyed_at)
    rows = session.execute(
        select(FixityState).where(FixityState.item_id == item.id).order_by(FixityState.copy)
    ).scalars()
    scheduled = {
        r.copy: CopyOut(copy_=r.copy, digest=r.digest, size=r.size, status=r.status,
                        last_checked_at=r.last_checked_at, quarantined_at=r.quarantined_at)
        for r in rows
    }  # fmt: skip
    # The two copies are listed whether or not the fixity schedule has reached them yet.
    unchecked = {kind: CopyOut(copy_=kind, digest=item.digest, size=item.size, status="unchecked")
                 for kind in ("sealed", "access")}  # fmt: skip
    own = [scheduled.pop(kind, copy) for kind, copy in unchecked.items()]
    copies = own + list(scheduled.values())
    rendition = None
    if made is not None:
        rendition = RenditionOut(status=made.status.value, digest=made.digest, size=made.size,
                                 finished_at=made.finished_at, error=made.error)  # fmt: skip
    return CopiesOut(copies=copies, rendition=rendition, destroyed_at=None)

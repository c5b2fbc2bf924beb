"""An item's copies as the fixity schedule and its rendition row record them (CopiesOut)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.http.copy_schemas import CopiesOut, CopyOut, RenditionOut
from custody.fixity.models import FixityState
from custody.log.kinds import EventKind
from custody.log.models import CustodyEvent
from vault.models import EvidenceItem, ItemStatus, Rendition


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

"""Legal holds: placed and released by an approver, with a reason and a reference. Any
active hold blocks destruction; the stores carry a legal hold while one is active."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from custody.log.append import append_event
from custody.log.kinds import EventKind
from retention.ends import push_to_stores
from retention.models import LegalHold
from vault.db import utcnow
from vault.errors import Conflict, InputRejected, NotFound
from vault.id_prefix import one_by_prefix
from vault.items import find_item
from vault.models import EvidenceItem, ItemStatus, User
from vault.stores.factory import Stores


def _text(value: str, what: str, limit: int) -> str:
    value = value.strip()
    if not value or len(value) > limit or not value.isprintable():
        raise InputRejected(f"a hold needs a {what} (1-{limit} printable characters)")
    return value


def place_hold(
    session: Session, stores: Stores, ref: str, *, user: User, reason: str, reference: str
) -> LegalHold:
    item = find_item(session, ref)
    if item.status != ItemStatus.PRESERVED:
        raise Conflict(f"item {item.id} was destroyed; there is nothing left to hold")
    hold = LegalHold(
        id=uuid.uuid4(), item_id=item.id, reason=_text(reason, "reason", 2000),
        reference=_text(reference, "reference (court order, case number)", 200),
        placed_by=user.username, placed_at=utcnow(),
    )  # fmt: skip
    session.add(hold)
    append_event(session, item_id=item.id, kind=EventKind.HOLD_PLACED,
                 actor=f"user:{user.username}", reason=hold.reason,
                 data={"hold": str(hold.id), "reference": hold.reference})  # fmt: skip
    push_to_stores(session, stores, item)
    return hold


def find_hold(session: Session, ref: str) -> LegalHold:
    """A hold by its id or a unique prefix of it (at least 6 hex digits), as items are found."""
    # Holds are few (one per court order): matching their ids here works on every database.
    ids = session.execute(select(LegalHold.id)).scalars()
    hold = session.get(LegalHold, one_by_prefix(ids, ref, what="legal hold"))
    assert hold is not None
    return hold


def release_hold(
    session: Session, stores: Stores, hold_id: uuid.UUID, *, user: User, reason: str
) -> LegalHold:
    hold = session.get(LegalHold, hold_id, with_for_update=True)
    if hold is None:
        raise NotFound(f"no legal hold {hold_id}")
    if hold.released_at is not None:
        raise Conflict(f"hold {hold_id} was released on {hold.released_at:%Y-%m-%d}")
    hold.released_at, hold.released_by = utcnow(), user.username
    hold.release_reason = _text(reason, "reason", 2000)
    item = session.get(EvidenceItem, hold.item_id)
    assert item is not None
    append_event(session, item_id=item.id, kind=EventKind.HOLD_RELEASED,
                 actor=f"user:{user.username}", reason=hold.release_reason,
                 data={"hold": str(hold.id), "reference": hold.reference})  # fmt: skip
    session.flush()
    if item.status == ItemStatus.PRESERVED:
        push_to_stores(session, stores, item)  # lifts the store's hold if none is left
    return hold


def list_holds(session: Session, *, active_only: bool = True) -> list[LegalHold]:
    query = select(LegalHold).order_by(LegalHold.placed_at)
    if active_only:
        query = query.where(LegalHold.released_at.is_(None))
    return list(session.execute(query).scalars())

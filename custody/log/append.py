"""Appending custody events. Flushes only; the caller's unit of work commits."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from custody.log.canonical import GENESIS_HASH, canonical_bytes, chain_hash, event_document
from custody.log.kinds import EventKind
from custody.log.merkle_store import record_leaf
from custody.log.models import ChainHead, CustodyEvent, LogHead
from vault.credential import current_token
from vault.db import utcnow
from vault.errors import IntegrityViolation

LOG_HEAD_ID = 1


def lock_log_head(session: Session) -> LogHead:
    """Take the single log-head row FOR UPDATE: the one serialisation point for seq."""
    head = session.execute(
        select(LogHead).where(LogHead.id == LOG_HEAD_ID).with_for_update()
    ).scalar_one_or_none()
    if head is None:
        raise IntegrityViolation("custody log head row is missing: run `evault init`")
    return head


def append_event(
    session: Session,
    *,
    item_id: uuid.UUID,
    kind: EventKind,
    actor: str,
    data: dict[str, Any],
    reason: str | None = None,
    at: datetime | None = None,
    commit_chain: bool = False,
) -> CustodyEvent:
    """Append one event to the item's chain and the log. With ``commit_chain`` the event's
    data also records the chain before it (entries and head hash): an export's exported
    events carry it, so a package that drops one of the item's entries no longer matches a
    signed, Merkle-proven entry."""
    via = current_token.get()
    if via is not None:
        data = {**data, "via_token": via}
    head = lock_log_head(session)
    chain = session.get(ChainHead, item_id, with_for_update=True)
    prev_hash = chain.head_hash if chain is not None else GENESIS_HASH
    if commit_chain:
        entries = chain.length if chain is not None else 0
        data = {**data, "chain_before": {"entries": entries, "head": prev_hash.hex()}}
    seq = head.last_seq + 1
    when = at or utcnow()
    document = event_document(
        seq=seq, item=item_id, kind=kind.value, actor=actor, at=when, reason=reason, data=data
    )
    canonical = canonical_bytes(document)
    digest = chain_hash(prev_hash=prev_hash, canonical=canonical)
    event = CustodyEvent(
        seq=seq,
        item_id=item_id,
        kind=kind.value,
        actor=actor,
        at=when,
        reason=reason,
        data=data,
        prev_hash=prev_hash,
        entry_hash=digest,
        canonical=canonical,
    )
    session.add(event)
    record_leaf(session, seq=seq, canonical=canonical)  # the leaf is the same canonical bytes
    if chain is None:
        session.add(ChainHead(item_id=item_id, length=1, last_seq=seq, head_hash=digest))
    else:
        chain.length += 1
        chain.last_seq = seq
        chain.head_hash = digest
    head.last_seq = seq
    head.last_hash = digest
    session.flush()
    return event


def events_for(session: Session, item_id: uuid.UUID) -> list[CustodyEvent]:
    return list(
        session.execute(
            select(CustodyEvent).where(CustodyEvent.item_id == item_id).order_by(CustodyEvent.seq)
        ).scalars()
    )


def under_hold(session: Session, item_id: uuid.UUID) -> bool:
    """Whether the item's chain has a hold_placed entry that no hold_released entry ended:
    the custody record, not the hold table, says what a store must keep held."""
    placed: set[Any] = set()
    for kind, data in session.execute(
        select(CustodyEvent.kind, CustodyEvent.data)
        .where(
            CustodyEvent.item_id == item_id,
            CustodyEvent.kind.in_([EventKind.HOLD_PLACED.value, EventKind.HOLD_RELEASED.value]),
        )
        .order_by(CustodyEvent.seq)
    ):
        if kind == EventKind.HOLD_PLACED.value:
            placed.add(data.get("hold"))
        else:
            placed.discard(data.get("hold"))
    return bool(placed)

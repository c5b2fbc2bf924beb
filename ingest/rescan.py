"""Scanning again the recordings that were preserved unscanned (the scanner was down, or
scanning was off): each sealed copy, as recorded, is streamed through the scanner and hashed on
the way, so the verdict is about the item's own bytes; the verdict and what it replaces go on
the item's custody chain.

The scan runs outside any transaction (a 4 GB recording takes minutes); recording it is a
short unit of work of its own that first checks the item is still unscanned."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from custody.admin.acts import settle_alert
from custody.log.append import append_event
from custody.log.kinds import EventKind
from ingest.virus import Scanner, ScannerUnavailable, ScanOutcome
from vault.alert_models import AlertLevel
from vault.alerts import raise_alert
from vault.errors import Conflict, InputRejected, IntegrityViolation
from vault.items import find_item
from vault.models import EvidenceItem, ItemStatus, ScanStatus
from vault.stores.protocol import ObjectStore, read_chunks


class CopyDoesNotMatch(IntegrityViolation):
    """The sealed copy read back is not the item's bytes: no verdict about it is recorded."""


@dataclass(frozen=True)
class Unscanned:
    """What scanning one item needs, read in a short unit of work."""

    id: uuid.UUID
    digest: str
    size: int
    name: str
    locator: str | None


def to_rescan(session: Session, refs: Iterable[str], *, limit: int) -> list[Unscanned]:
    """The items named (each must be preserved and unscanned), or else the oldest ``limit``
    unscanned ones."""
    named = list(refs)
    if named:
        items = [find_item(session, ref) for ref in named]
        for item in items:
            if item.status != ItemStatus.PRESERVED:
                raise Conflict(f"item {item.id} is {item.status.value}: nothing to scan")
            if item.scan_status != ScanStatus.UNSCANNED:
                raise Conflict(
                    f"item {item.id} was scanned already ({item.scan_status.value}):"
                    " only unscanned recordings are scanned again"
                )
    else:
        items = list(
            session.execute(
                select(EvidenceItem)
                .where(EvidenceItem.scan_status == ScanStatus.UNSCANNED,
                       EvidenceItem.status == ItemStatus.PRESERVED)
                .order_by(EvidenceItem.ingested_at, EvidenceItem.id)
                .limit(limit)
            ).scalars()
        )  # fmt: skip
    return [Unscanned(i.id, i.digest, i.size, i.original_name, i.sealed_locator) for i in items]


def scan_copy(
    scanner: Scanner, store: ObjectStore, item: Unscanned, *, chunk_size: int,
    on_bytes: Callable[[int], None] = lambda n: None,
) -> ScanOutcome:  # fmt: skip
    """The scanner's verdict on the item's sealed copy, hashed as it streams past. Raises
    ScannerUnavailable if the scanner cannot run, CopyDoesNotMatch if the bytes are not the
    item's (fixity's business: the verdict would be about other bytes)."""
    if scanner.engine == "none":
        raise InputRejected(
            "virus scanning is off (virus_scanner = off): set virus_scanner to clamscan or clamd"
        )
    hasher = hashlib.sha256()
    size = 0

    def hashed(chunks: Iterable[bytes]) -> Iterator[bytes]:
        nonlocal size
        for chunk in chunks:
            hasher.update(chunk)
            size += len(chunk)
            on_bytes(len(chunk))
            yield chunk

    with store.open(item.digest, locator=item.locator) as stream:
        outcome = scanner.scan(hashed(read_chunks(stream, chunk_size)))
        for _ in hashed(read_chunks(stream, chunk_size)):
            pass  # a scanner that stopped early (a match) leaves the rest to hash
    if hasher.hexdigest() != item.digest or size != item.size:
        raise CopyDoesNotMatch(
            f"the sealed copy of {item.id} does not match its digest: nothing recorded; run"
            " `evault fixity check` on it"
        )
    return outcome


def record_rescan(
    session: Session, item_id: uuid.UUID, outcome: ScanOutcome, *, actor: str
) -> EvidenceItem:
    """The verdict on the item and on its custody chain. Flushes only."""
    # OF the item alone: its station and device are joined in, and nothing of them changes.
    locked = select(EvidenceItem).where(EvidenceItem.id == item_id)
    item = session.execute(locked.with_for_update(of=EvidenceItem)).scalar_one_or_none()
    if item is None or item.status != ItemStatus.PRESERVED:
        raise Conflict(f"item {item_id} is no longer preserved: the verdict is not recorded")
    if item.scan_status != ScanStatus.UNSCANNED:
        raise Conflict(f"item {item_id} was scanned meanwhile ({item.scan_status.value})")
    event = append_event(
        session, item_id=item.id, kind=EventKind.VIRUS_RESCANNED, actor=actor,
        data={**outcome.record(), "previous": item.scan_status.value,
              "previous_detail": item.scan_detail, "copy": "sealed", "digest": item.digest},
    )  # fmt: skip
    item.scan_status, item.scan_detail = outcome.status, outcome.detail
    # The alert raised because the scanner failed at ingest is about a recording that now has
    # a verdict: it leaves the open list, saying which verdict (an infected one raises its own).
    # The scanner's detail is cut short here: an acknowledgement's reason is at most 2000
    # characters, and a long one must never cost the verdict (the entry keeps it whole).
    if outcome.status != ScanStatus.UNSCANNED:
        settle_alert(
            session, actor=actor, key=f"virus_unscanned:{item.id}",
            reason=f"scanned again: {outcome.status.value} ({outcome.detail[:500]}); custody"
                   f" entry {event.seq} (virus_rescanned)",
        )  # fmt: skip
    if outcome.status == ScanStatus.INFECTED:
        raise_alert(
            session, key=f"virus_infected:{item.id}", kind="virus_infected",
            level=AlertLevel.ERROR, message="recording found infected when scanned again",
            details={"item": str(item.id), "file": item.original_name,
                     "verdict": outcome.status.value, "detail": outcome.detail},
        )  # fmt: skip
    session.flush()
    return item


__all__ = ["CopyDoesNotMatch", "ScannerUnavailable", "record_rescan", "scan_copy", "to_rescan"]

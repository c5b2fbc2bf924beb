"""Database rows to API schemas (kept apart so routes stay short)."""

from __future__ import annotations

from api.http.schemas import EventOut, ItemOut
from custody.models import CustodyEvent
from vault.models import EvidenceItem


def item_out(item: EvidenceItem) -> ItemOut:
    return ItemOut(
        id=item.id,
        digest=item.digest,
        size=item.size,
        media_type=item.media_type,
        original_name=item.original_name,
        station=item.station.name,
        device=item.device.serial if item.device else None,
        officer=item.officer,
        recorded_start=item.recorded_start,
        recorded_end=item.recorded_end,
        duration_ms=item.duration_ms,
        docked_at=item.docked_at,
        ingested_at=item.ingested_at,
        media_status=item.media_status,
        status=item.status,
        retain_until=item.retain_until,
        case=item.case.number if item.case else None,
    )


def event_out(event: CustodyEvent) -> EventOut:
    return EventOut(
        seq=event.seq,
        kind=event.kind,
        actor=event.actor,
        at=event.at,
        reason=event.reason,
        data=event.data,
        prev_hash=bytes(event.prev_hash).hex(),
        entry_hash=bytes(event.entry_hash).hex(),
    )

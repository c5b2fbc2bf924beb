"""Database rows to API schemas (kept apart so routes stay short)."""

from __future__ import annotations

from api.http.schemas import EventOut, ItemOut, RequestOut
from custody.access.models import AccessRequest
from custody.log.models import CustodyEvent
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
        scan_status=item.scan_status,
        scan_detail=item.scan_detail,
        scan_released_by=item.scan_released_by,
        flags=list(item.flags or []),
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


def request_out(request: AccessRequest) -> RequestOut:
    return RequestOut(
        number=request.number,
        requester=request.requester.username,
        purpose=request.purpose,
        reason=request.reason,
        period_days=request.period_days,
        requested_at=request.requested_at,
        requester_kind=request.requester_kind,
        organisation=request.organisation,
        document_ref=request.document_ref,
        status=request.status,
        decided_by=request.decided_by.username if request.decided_by else None,
        decided_at=request.decided_at,
        decision_reason=request.decision_reason,
        valid_until=request.valid_until,
        items=[item.id for item in request.items],
    )

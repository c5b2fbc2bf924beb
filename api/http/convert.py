"""Database rows to API schemas (kept apart so routes stay short)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from api.http.retention_schemas import DueItemOut, HoldOut, RetentionOut
from api.http.schemas import CaseOut, EventOut, ItemOut, RequestOut
from custody.access.models import AccessRequest
from custody.log.models import CustodyEvent
from retention import appraisal
from retention.ends import active_holds
from retention.models import LegalHold
from vault.models import Case, EvidenceItem


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
        probe_error=item.probe_error,
        status=item.status,
        retain_until=item.retain_until,
        case=item.case.number if item.case else None,
        scan_status=item.scan_status,
        scan_detail=item.scan_detail,
        scan_released_by=item.scan_released_by,
        flags=list(item.flags or []),
        station_metadata=item.station_metadata,
    )


def hold_out(hold: LegalHold) -> HoldOut:
    return HoldOut(
        id=hold.id, item=hold.item_id, reason=hold.reason, reference=hold.reference,
        placed_by=hold.placed_by, placed_at=hold.placed_at, released_by=hold.released_by,
        released_at=hold.released_at, release_reason=hold.release_reason,
    )  # fmt: skip


def retention_out(session: Session, item: EvidenceItem) -> RetentionOut:
    """An item's retention end, the rule that set it, its categories and active holds."""
    return RetentionOut(
        item=item.id, status=item.status.value, retain_until=item.retain_until,
        rule=item.retention_rule, basis=item.retention_basis,
        categories=list(item.categories or ()),
        holds=[hold_out(h) for h in active_holds(session, item)],
    )  # fmt: skip


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


def case_out(case: Case) -> CaseOut:
    return CaseOut(
        number=case.number,
        title=case.title,
        flags=list(case.flags),
        opened_at=case.opened_at,
        closed_at=case.closed_at,
        items=[item.id for item in case.items],
    )


def due_out(session: Session) -> list[DueItemOut]:
    """Items past their end that may be appraised (not held, not in an open case or batch)."""
    due = []
    for i in appraisal.due_items(session):
        assert i.retain_until is not None  # due means a date that has passed
        due.append(DueItemOut(
            item=i.id, digest=i.digest, group=appraisal.group_key(i), station=i.station.name,
            retain_until=i.retain_until, rule=i.retention_rule, basis=i.retention_basis,
        ))  # fmt: skip
    return due

"""Releasing a recording that the virus check flagged: an approver's decision, with a reason,
recorded in the item's custody chain before anything of it may be handed out. Flushes only."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from custody.log.append import append_event
from custody.log.kinds import EventKind
from vault.errors import AccessDenied, Conflict, InputRejected
from vault.items import find_item
from vault.models import EvidenceItem, Role, ScanStatus, User


def release_infected(session: Session, *, ref: str, approver: User, reason: str) -> EvidenceItem:
    if not approver.has_any(frozenset({Role.APPROVER})):
        raise AccessDenied("releasing an infected recording needs the approver role")
    if not reason.strip():
        raise InputRejected("say why the infected recording must be handed out")
    item = find_item(session, ref)
    if item.scan_status != ScanStatus.INFECTED:
        raise Conflict(f"item {item.id} is not flagged infected ({item.scan_status.value})")
    if item.scan_released_by:
        raise Conflict(f"item {item.id} was already released by {item.scan_released_by}")
    item.scan_released_by = approver.username
    append_event(
        session, item_id=item.id, kind=EventKind.VIRUS_OVERRIDE,
        actor=f"user:{approver.username}", reason=reason.strip(),
        data={"signature": item.scan_detail},
    )  # fmt: skip
    return item


def flagged_items(
    session: Session, *, limit: int | None = None, offset: int = 0
) -> list[EvidenceItem]:
    """Items without a clean virus check: infected first, then unscanned (a page of them with
    ``limit``: a vault run without a scanner has every item unscanned)."""
    return list(
        session.execute(
            select(EvidenceItem)
            .where(EvidenceItem.scan_status != ScanStatus.CLEAN)
            .order_by(EvidenceItem.scan_status, EvidenceItem.ingested_at, EvidenceItem.id)
            .limit(limit)
            .offset(offset)
        ).scalars()
    )


def flagged_counts(session: Session) -> dict[str, int]:
    """How many items each status other than clean holds, counted by the database."""
    counted = session.execute(
        select(EvidenceItem.scan_status, func.count())
        .where(EvidenceItem.scan_status != ScanStatus.CLEAN)
        .group_by(EvidenceItem.scan_status)
    ).all()
    return {status.value: n for status, n in counted}

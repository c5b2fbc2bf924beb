"""Recording gaps found in the vault's items, and their explanations (gap_explained custody
events on both clips). Flushes only; the caller's unit of work commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.settings import Settings
from custody.log.append import append_event
from custody.log.canonical import format_time
from custody.log.kinds import EventKind
from ingest.gaps import CAUSE_NAMES, Clip, Gap, GapCause, find_gaps
from ingest.models import GapExplanation
from vault.db import utcnow
from vault.errors import AccessDenied, Conflict, InputRejected
from vault.items import find_item
from vault.models import Device, EvidenceItem, Role, User

EXPLAINERS = frozenset({Role.CUSTODIAN, Role.INVESTIGATOR})


@dataclass(frozen=True)
class FoundGap:
    gap: Gap
    explanation: GapExplanation | None


def _clips(session: Session, device: str | None) -> list[Clip]:
    item = EvidenceItem
    query = (
        select(item.id, Device.serial, item.recorded_start, item.recorded_end)
        .join(Device, Device.id == item.device_id)
        .where(item.recorded_start.is_not(None), item.recorded_end.is_not(None))
    )
    if device is not None:
        query = query.where(Device.serial == device)
    return [
        Clip(i, d, s, e) for i, d, s, e in session.execute(query) if s is not None and e is not None
    ]


def list_gaps(session: Session, settings: Settings, *, device: str | None = None) -> list[FoundGap]:
    gaps = find_gaps(
        _clips(session, device),
        window=timedelta(minutes=settings.gap_incident_window_minutes),
        threshold=timedelta(seconds=settings.gap_threshold_seconds),
    )
    explained = {
        (e.before_item_id, e.after_item_id): e
        for e in session.execute(select(GapExplanation)).scalars()
    }
    return [FoundGap(g, explained.get((g.before, g.after))) for g in gaps]


def explain_gap(
    session: Session,
    settings: Settings,
    *,
    before: str,
    after: str,
    cause: GapCause,
    text: str,
    user: User,
) -> GapExplanation:
    if not user.has_any(EXPLAINERS):
        raise AccessDenied("explaining a gap needs the custodian or investigator role")
    if cause == GapCause.OTHER and not text.strip():
        raise InputRejected("a gap of cause 'other' needs its explanation in words")
    first, second = find_item(session, before), find_item(session, after)
    device = first.device.serial if first.device else None
    found = next(
        (f for f in list_gaps(session, settings, device=device)
         if (f.gap.before, f.gap.after) == (first.id, second.id)),
        None,
    )  # fmt: skip
    if found is None:
        raise InputRejected(
            f"there is no recording gap between {first.id} and {second.id}:"
            " `evault gaps` lists them"
        )
    if found.explanation is not None:
        raise Conflict(
            f"this gap was explained by {found.explanation.explained_by} as"
            f" {found.explanation.cause}: explanations are not rewritten"
        )
    row = GapExplanation(
        before_item_id=first.id, after_item_id=second.id, cause=cause.value,
        text=text.strip(), explained_by=user.username, explained_at=utcnow(),
    )  # fmt: skip
    session.add(row)
    gap = found.gap
    data = {
        "device": gap.device, "before": str(gap.before), "after": str(gap.after),
        "stopped_at": format_time(gap.stopped_at), "resumed_at": format_time(gap.resumed_at),
        "seconds": int(gap.length.total_seconds()), "cause": cause.value,
        "cause_name": CAUSE_NAMES[cause],
    }  # fmt: skip
    for item_id in (first.id, second.id):
        append_event(
            session, item_id=item_id, kind=EventKind.GAP_EXPLAINED,
            actor=f"user:{user.username}", reason=text.strip() or None, data=data,
        )  # fmt: skip
    session.flush()
    return row

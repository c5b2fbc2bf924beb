"""Looking up evidence items. Read-only."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session

from vault.errors import Conflict, NotFound
from vault.models import Device, EvidenceItem, ItemStatus, Station

MIN_PREFIX = 4


def find_item(session: Session, reference: str) -> EvidenceItem:
    """An item by full id, unique id prefix, or unique digest prefix (what people paste)."""
    ref = reference.strip().lower()
    try:
        found = session.get(EvidenceItem, uuid.UUID(ref))
    except ValueError:
        found = None
    if found is not None:
        return found
    if len(ref) < MIN_PREFIX:
        raise NotFound(f"{reference!r} is too short to name an item (give at least {MIN_PREFIX})")
    matches = list(
        session.execute(
            select(EvidenceItem)
            .where(
                EvidenceItem.digest.startswith(ref) | cast(EvidenceItem.id, String).startswith(ref)
            )
            .limit(3)
        ).scalars()
    )
    if not matches:
        # UUIDs are stored without dashes on SQLite and with them on PostgreSQL.
        matches = [
            i
            for i in session.execute(select(EvidenceItem)).scalars()
            if str(i.id).startswith(ref) or i.id.hex.startswith(ref)
        ][:3]
    if not matches:
        raise NotFound(f"no item matches {reference!r}")
    if len(matches) > 1:
        raise Conflict(f"{reference!r} matches more than one item; give more characters")
    return matches[0]


@dataclass(frozen=True)
class ItemFilter:
    station: str | None = None
    device: str | None = None
    officer: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    status: ItemStatus | None = None
    limit: int = 200


def list_items(session: Session, flt: ItemFilter) -> list[EvidenceItem]:
    query = select(EvidenceItem).order_by(EvidenceItem.ingested_at.desc()).limit(flt.limit)
    if flt.station:
        query = query.join(Station, EvidenceItem.station_id == Station.id).where(
            Station.name == flt.station
        )
    if flt.device:
        query = query.join(Device, EvidenceItem.device_id == Device.id).where(
            Device.serial == flt.device
        )
    if flt.officer:
        query = query.where(EvidenceItem.officer == flt.officer)
    if flt.since:
        query = query.where(EvidenceItem.recorded_start >= flt.since)
    if flt.until:
        query = query.where(EvidenceItem.recorded_start < flt.until)
    if flt.status:
        query = query.where(EvidenceItem.status == flt.status)
    return list(session.execute(query).scalars())

"""Looking up evidence items. Read-only."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.orm import Session

from vault.errors import Conflict, NotFound
from vault.models import Case, Device, EvidenceItem, ItemStatus, Station

MIN_PREFIX = 6
ItemSelect = TypeVar("ItemSelect", bound="Select[*tuple[Any, ...]]")  # any columns
_HEX = re.compile(r"[0-9a-f]+")


def find_item(session: Session, reference: str) -> EvidenceItem:
    """An item by full id, or a unique prefix of at least six hex digits of its id or its
    digest (what people paste). Prefixes are ranges on the two indexed columns: no pattern
    matching, so nothing in a reference acts as a wildcard."""
    ref = reference.strip().lower()
    try:
        found = session.get(EvidenceItem, uuid.UUID(ref))
    except ValueError:
        found = None
    if found is not None:
        return found
    hex_ref = ref.replace("-", "")
    if not _HEX.fullmatch(hex_ref) or len(hex_ref) > 64:
        raise NotFound(
            f"{reference!r} is not an item reference: give an item id, or at least"
            f" {MIN_PREFIX} hex digits of an id or a digest"
        )
    if len(hex_ref) < MIN_PREFIX:
        raise NotFound(f"{reference!r} is too short to name an item (give at least {MIN_PREFIX})")
    by_digest = EvidenceItem.digest.between(hex_ref.ljust(64, "0"), hex_ref.ljust(64, "f"))
    condition: ColumnElement[bool] = by_digest
    if len(hex_ref) <= 32:
        low, high = uuid.UUID(hex_ref.ljust(32, "0")), uuid.UUID(hex_ref.ljust(32, "f"))
        condition = or_(by_digest, EvidenceItem.id.between(low, high))
    matches = list(session.execute(select(EvidenceItem).where(condition).limit(2)).scalars())
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
    text: str | None = None  # part of the original name, the officer or the case's title
    offset: int = 0


def list_items(session: Session, flt: ItemFilter) -> list[EvidenceItem]:
    return list(session.execute(filtered(select(EvidenceItem), flt)).scalars())


def filtered(query: ItemSelect, flt: ItemFilter) -> ItemSelect:
    """``query``, a select from evidence items joined to their station and outer-joined to
    their device and case, narrowed by ``flt``: newest first, one page. The ORM's list and
    the API's Core read of items (api.http.item_reads) share it, so they cannot disagree."""
    query = (
        query.join(Station, EvidenceItem.station_id == Station.id)
        .outerjoin(Device, EvidenceItem.device_id == Device.id)
        .outerjoin(Case, EvidenceItem.case_id == Case.id)
        .order_by(EvidenceItem.ingested_at.desc(), EvidenceItem.id)
        .limit(flt.limit)
        .offset(flt.offset)
    )
    if flt.text:
        pattern = "%" + flt.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            EvidenceItem.original_name.ilike(pattern, escape="\\")
            | EvidenceItem.officer.ilike(pattern, escape="\\")
            | Case.title.ilike(pattern, escape="\\")
        )
    if flt.station:
        query = query.where(Station.name == flt.station)
    if flt.device:
        query = query.where(Device.serial == flt.device)
    if flt.officer:
        query = query.where(EvidenceItem.officer == flt.officer)
    if flt.since:
        query = query.where(EvidenceItem.recorded_start >= flt.since)
    if flt.until:
        query = query.where(EvidenceItem.recorded_start < flt.until)
    if flt.status:
        query = query.where(EvidenceItem.status == flt.status)
    return query

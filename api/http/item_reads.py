"""The two hottest reads, an item and its custody chain, as Core statements: one each (the
item with its station, device and case joined), no ORM identity map, each built once with its
id as a bound parameter, run on the unit of work's connection in one worker-thread call, and
answered as JSON made there by pydantic's serializer (the route's response model, without
FastAPI validating and encoding it again on the event loop). A reference that is not a full
id (a prefix people paste) goes through vault.items.find_item as everywhere else. The list
of items (GET /items, and `evault list` on the vault's host) reads its page the same way,
with the ORM list's own filter."""

from __future__ import annotations

import uuid

from pydantic import TypeAdapter
from sqlalchemy import RowMapping, bindparam, select
from sqlalchemy.orm import Session

from api.http.convert import item_out
from api.http.schemas import EventOut, ItemOut
from custody.log.models import CustodyEvent
from vault.errors import NotFound
from vault.items import ItemFilter, filtered, find_item
from vault.models import Case, Device, EvidenceItem, Station

i = EvidenceItem
_COLUMNS = select(
    i.id, i.digest, i.size, i.media_type, i.original_name, Station.name.label("station"),
    Device.serial.label("device"), i.officer, i.recorded_start, i.recorded_end,
    i.duration_ms, i.docked_at, i.ingested_at, i.media_status, i.probe_error, i.status,
    i.retain_until, Case.number.label("case"), i.scan_status, i.scan_detail,
    i.scan_released_by, i.flags, i.station_metadata,
)  # fmt: skip
_ITEM = (
    _COLUMNS.join(Station, Station.id == i.station_id)
    .outerjoin(Device, Device.id == i.device_id)
    .outerjoin(Case, Case.id == i.case_id)
    .where(i.id == bindparam("item_id"))
)
e = CustodyEvent
_EVENTS = (
    select(e.seq, e.kind, e.actor, e.at, e.reason, e.data, e.prev_hash, e.entry_hash)
    .where(e.item_id == bindparam("item_id"))
    .order_by(e.seq)
)
# Why one statement object, bound per call, and the connection rather than the Session: a
# statement refined per call (``.where(id == value)``) hits SQLAlchemy's compiled cache, but
# its result columns are then matched against the cached statement's on every execution, and
# the ORM's execute path adds its own; together about 300 us of a 350 us read (issue 23).


def _full_id(reference: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(reference.strip())
    except ValueError:
        return None


_EVENTS_JSON = TypeAdapter(list[EventOut])
_ITEMS_JSON = TypeAdapter(list[ItemOut])


def item_json(session: Session, reference: str) -> bytes:
    """GET /items/{ref}'s body."""
    return item_view(session, reference).model_dump_json().encode()


def custody_json(session: Session, reference: str) -> bytes:
    """GET /items/{ref}/custody's body."""
    return _EVENTS_JSON.dump_json(custody_view(session, reference))


def items_json(session: Session, flt: ItemFilter) -> bytes:
    """GET /items's body."""
    return _ITEMS_JSON.dump_json(items_view(session, flt))


def items_view(session: Session, flt: ItemFilter) -> list[ItemOut]:
    """A page of items as GET /items shows them, in one Core statement: the ORM's list took
    about 30 us an item to load the entities and their station, device and case (issue 23),
    this about a third of that. The filter is the ORM list's own (vault.items.filtered)."""
    rows = session.connection().execute(filtered(_COLUMNS, flt)).mappings().all()
    return [_item_out(row) for row in rows]


def _item_out(row: RowMapping) -> ItemOut:
    return ItemOut.model_validate({**row, "flags": list(row["flags"] or [])})


def item_view(session: Session, reference: str) -> ItemOut:
    """The item as GET /items/{ref} shows it."""
    item_id = _full_id(reference)
    if item_id is None:
        return item_out(find_item(session, reference))
    row = session.connection().execute(_ITEM, {"item_id": item_id}).mappings().first()
    if row is None:
        return item_out(find_item(session, reference))  # says why, as for any reference
    return _item_out(row)


def custody_view(session: Session, reference: str) -> list[EventOut]:
    """Every custody event of the item in order, as GET /items/{ref}/custody shows them."""
    item_id = _full_id(reference)
    if item_id is None:
        item_id = find_item(session, reference).id
    events = [
        EventOut(seq=seq, kind=kind, actor=actor, at=at, reason=reason, data=data,
                 prev_hash=bytes(prev).hex(), entry_hash=bytes(digest).hex())
        for seq, kind, actor, at, reason, data, prev, digest in session.connection().execute(
            _EVENTS, {"item_id": item_id}
        )
    ]  # fmt: skip
    if not events and session.get(EvidenceItem, item_id) is None:
        raise NotFound(f"no item matches {reference!r}")
    return events

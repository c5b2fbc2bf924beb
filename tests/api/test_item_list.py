"""GET /items reads its page in one Core statement (api.http.item_reads.items_view) where the
console and the CLI's ORM path load entities (vault.items.list_items). Both take their filter
from vault.items.filtered; this checks that every filter, alone and combined, answers the
same items in the same order with the same fields both ways."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api.http.convert import item_out
from api.http.item_reads import items_view
from tests.api.conftest import Api
from vault.cases import open_case
from vault.db import unit_of_work
from vault.items import ItemFilter, list_items
from vault.models import Device, EvidenceItem, ItemStatus, MediaStatus, Station

START = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def _add_items(api: Api) -> None:
    """Items over two stations, two devices (and none), three officers, a case, every
    status used here, and names holding the LIKE pattern's own characters."""
    with unit_of_work(api.vault.app.factory) as session:
        north = Station(name="north", kind="local", location="")
        cam = Device(serial="CAM9")
        session.add_all([north, cam])
        case = open_case(session, number="list-case", title="Harbour 50%_off")
        session.flush()
        names = ["50%_off.mp4", "plain.mp4", "under_score.mp4", "back\\slash.mp4"]
        for n in range(12):
            name = names[n % len(names)]
            session.add(EvidenceItem(
                id=uuid.uuid4(), digest=hashlib.sha256(f"list {n}".encode()).hexdigest(),
                size=1000 + n, media_type="video/mp4", original_name=name,
                original_name_raw=name.encode(), station_id=north.id,
                device_id=cam.id if n % 3 else None, officer=f"P{n % 3}",
                case_id=case.id if n % 4 == 0 else None,
                recorded_start=START + timedelta(hours=n),
                recorded_end=START + timedelta(hours=n, minutes=5),
                docked_at=START + timedelta(days=1),
                ingested_at=START + timedelta(days=1, minutes=n % 5),  # ties: order by id too
                media_status=MediaStatus.PROBED, sealed_locator="t", access_locator="t",
                status=ItemStatus.PRESERVED if n % 5 else ItemStatus.DESTROYED,
                flags=["infected"] if n == 7 else None,
            ))  # fmt: skip


FILTERS: dict[str, dict[str, Any]] = {
    "all": {},
    "station": {"station": "north"},
    "device": {"device": "CAM9"},
    "officer": {"officer": "P1"},
    "since": {"since": START + timedelta(hours=5)},
    "until": {"until": START + timedelta(hours=5)},
    "status": {"status": ItemStatus.DESTROYED},
    "percent and underscore": {"text": "%_"},
    "backslash": {"text": "\\"},
    "case title": {"text": "harbour"},
    "page": {"limit": 4, "offset": 3},
    "combined": {"device": "CAM9", "officer": "P2", "since": START, "limit": 3, "offset": 1},
    "nothing": {"device": "CAM9", "station": "nowhere"},
}


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_the_api_lists_what_the_orm_lists(api: Api, name: str) -> None:
    _add_items(api)
    flt = ItemFilter(**FILTERS[name])
    with unit_of_work(api.vault.app.factory, read_only=True) as session:
        core = [i.model_dump(mode="json") for i in items_view(session, flt)]
        orm = [item_out(i).model_dump(mode="json") for i in list_items(session, flt)]
    assert core == orm
    if name != "nothing":
        assert core, "the filter matches something, so the comparison says something"


def test_the_route_answers_the_list(api: Api) -> None:
    _add_items(api)
    headers = api.as_role("auditor")
    answer = api.client.get("/items", params={"device": "CAM9", "limit": 5}, headers=headers)
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    with unit_of_work(api.vault.app.factory, read_only=True) as session:
        expected = [item_out(i).model_dump(mode="json")
                    for i in list_items(session, ItemFilter(device="CAM9", limit=5))]  # fmt: skip
    assert answer.json() == expected and len(expected) == 5

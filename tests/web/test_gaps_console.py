"""Issue 20, recording gaps in the console: a custodian sees a camera's gap inside an incident,
gets the service's reason beside the field when the cause "other" comes without words,
explains it, and both recordings' chains carry the explanation; markup in it stays text."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from custody.log.kinds import EventKind
from custody.log.models import CustodyEvent
from tests.web.conftest import Console
from vault.db import unit_of_work
from vault.models import EvidenceItem
from vault.synthetic import generate_clip

T0 = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
STOPS = {"stop0.mp4": (0, 60), "stop1.mp4": (120, 180)}  # CAM3 stopped for 60 s


@pytest.fixture
def docked() -> Callable[[Path], None]:
    def dock(station: Path) -> None:
        for n, (name, (start, end)) in enumerate(STOPS.items()):
            clip = generate_clip(station / "CAM3" / name, seconds=1, frequency=300 + 40 * n)
            times = {
                "device": "CAM3",
                "recorded_start": (T0 + timedelta(seconds=start)).isoformat(),
                "recorded_end": (T0 + timedelta(seconds=end)).isoformat(),
            }
            clip.with_name(f"{name}.json").write_text(json.dumps(times), encoding="utf-8")

    return dock


def _explained(console: Console) -> list[CustodyEvent]:
    with unit_of_work(console.vault.app.factory, read_only=True) as session:
        found = session.execute(
            select(CustodyEvent, EvidenceItem.original_name)
            .join(EvidenceItem, EvidenceItem.id == CustodyEvent.item_id)
            .where(CustodyEvent.kind == EventKind.GAP_EXPLAINED)
        ).all()
        return [event for event, _ in sorted(found, key=lambda row: row[1])]


def test_a_custodian_explains_a_recording_gap(console: Console, page: Page) -> None:
    console.sign_in(page, "chen")
    page.goto(f"{console.url}/recording-gaps")
    row = page.locator("table.gaps tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_have_class("unexplained")
    expect(row).to_contain_text("CAM3")
    expect(row).to_contain_text("60 秒")
    expect(row).to_contain_text("2026-11-24 10:01:00 +08:00 (CST)")  # stopped, in Shanghai time

    row.locator("select[name=cause]").select_option("other")
    row.locator("input[name=explanation]").fill("   ")
    row.locator("button[type=submit]").click()
    error = page.locator("table.gaps .error")
    expect(error).to_contain_text("a gap of cause 'other' needs its explanation in words")
    expect(row.locator("select[name=cause]")).to_have_value("other")  # the form as it was sent
    expect(row.locator("input[name=explanation]")).to_have_value("   ")
    assert _explained(console) == []
    console.shot(page, "gap-refused")

    row.locator("select[name=cause]").select_option("low_battery")
    row.locator("input[name=explanation]").fill("<b>battery</b> ran out; spare fitted")
    row.locator("button[type=submit]").click()
    expect(row).to_have_class("explained")
    expect(row).to_contain_text("电量不足: <b>battery</b> ran out; spare fitted")  # as text
    console.shot(page, "gap-explained")

    explained = _explained(console)
    assert len(explained) == 2, "the explanation is on both recordings' chains"
    for event in explained:
        assert event.actor == "user:chen"
        assert (event.data["cause"], event.data["seconds"]) == ("low_battery", 60)

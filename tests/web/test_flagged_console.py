"""Issue 20, virus releases in the console: a recording ClamAV (real clamscan, a signature the
test writes) found infected is listed for custodians without a release button; an approver
gets the service's reason beside the field for an empty reason, then releases it, and the
release is a custody entry naming them. A custodian's forged release is refused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from custody.log.kinds import EventKind
from custody.log.models import CustodyEvent
from tests.malware import infect
from tests.web.conftest import Console
from tests.web.test_access_console import _csrf_of, _sign_in_httpx
from vault.db import unit_of_work
from vault.models import EvidenceItem, ScanStatus
from vault.synthetic import generate_clip

# The catalog's Chinese punctuation, full-width as a reader sees it.
COUNTS = "染毒：{}，未查毒：{}"  # noqa: RUF001


@pytest.fixture
def console_options(signatures: Path) -> dict[str, object]:
    return {"virus_scanner": "clamscan", "clamav_database": signatures}


@pytest.fixture
def docked() -> Callable[[Path], None]:
    return lambda station: infect(
        generate_clip(station / "CAM7" / "infected.mp4", seconds=1, frequency=880)
    )


def _infected(console: Console) -> tuple[EvidenceItem, list[CustodyEvent]]:
    with unit_of_work(console.vault.app.factory, read_only=True) as session:
        item = session.execute(
            select(EvidenceItem).where(EvidenceItem.original_name == "infected.mp4")
        ).scalar_one()
        events = session.execute(
            select(CustodyEvent).where(
                CustodyEvent.item_id == item.id, CustodyEvent.kind == EventKind.VIRUS_OVERRIDE
            )
        ).scalars()
        found = list(events)
        session.expunge_all()
        return item, found


def test_an_approver_releases_an_infected_recording(console: Console, page: Page) -> None:
    item, released = _infected(console)
    assert item.scan_status == ScanStatus.INFECTED and released == []

    console.sign_in(page, "chen")  # a custodian sees it, and cannot release it
    page.goto(f"{console.url}/flagged-recordings")
    row = page.locator("table.flagged tbody tr", has_text="infected.mp4")
    expect(row).to_contain_text("染毒")
    expect(row).to_contain_text("Evault.Test.Malware")
    expect(row.locator("form")).to_have_count(0)
    expect(page.locator("table.flagged tbody tr")).to_have_count(1)  # the others scanned clean
    expect(page.locator("p.summary")).to_have_text(COUNTS.format(1, 0))
    console.shot(page, "flagged-custodian")
    with httpx.Client(base_url=console.url) as chen:
        _sign_in_httpx(chen, "chen")
        csrf = _csrf_of(chen.get("/flagged-recordings").text)
        forged = chen.post(f"/flagged-recordings/{item.id}/release",
                           data={"csrf": csrf, "reason": "I want it"})  # fmt: skip
    assert forged.status_code == 403
    assert _infected(console)[1] == []

    console.sign_in(page, "zhao")
    page.goto(f"{console.url}/flagged-recordings")
    row.locator("button[type=submit]").click()  # no reason
    expect(row.locator(".error")).to_have_text("String should have at least 1 character")
    assert _infected(console)[1] == []
    console.shot(page, "release-refused")
    row.locator("input[name=reason]").fill("court ordered the file as received")
    row.locator("button[type=submit]").click()
    expect(row).to_contain_text("zhao")
    expect(row.locator("form")).to_have_count(0)
    console.shot(page, "released")

    (event,) = _infected(console)[1]
    assert event.actor == "user:zhao"
    assert event.reason == "court ordered the file as received"

"""Issue 21, reports in the console: the month's 24-hour compliance per station and device
equals the report the API and CLI make, with its CSV and PDF downloads; the fixity page shows
the copies' results, the quarantined copies and a recording with no intact copy left, as the
fixity service counts them; an admin runs `evault doctor`'s checks from a page."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

from custody.admin import acts
from custody.fixity import checks as fixity
from ingest.compliance import compliance_report
from ingest.deadline import deadline_of
from tests.custody.test_tamper import flip_byte
from tests.web.conftest import PASSWORD, Console
from vault.db import unit_of_work, utcnow


def _table(page: Page, selector: str) -> list[list[str]]:
    return page.eval_on_selector_all(
        f"{selector} tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))"
    )


def test_compliance_fixity_and_doctor_pages(console: Console, page: Page) -> None:
    settings = console.vault.settings
    month = datetime.now(ZoneInfo(settings.display_timezone)).strftime("%Y-%m")
    console.sign_in(page, "chen")
    page.goto(f"{console.url}/compliance")
    with unit_of_work(console.vault.app.factory, read_only=True) as session:
        made = compliance_report(session, month=month, zone=settings.display_timezone,
                                 deadline=deadline_of(settings), now=utcnow())  # fmt: skip
    shown = _table(page, "table.compliance:nth-of-type(1)")
    assert [[r[0], int(r[1]), int(r[2])] for r in shown] == [
        [s.name, s.docked, s.in_time] for s in made.stations
    ]
    assert sum(s.docked for s in made.stations) == 5  # the console's five recordings
    devices = _table(page, "table.compliance:nth-of-type(2)")
    assert sorted(r[0] for r in devices) == sorted(d.name for d in made.devices)
    console.shot(page, "compliance-zh")
    with page.expect_download() as download:
        page.click("#compliance-pdf")
    assert download.value.path().read_bytes()[:5] == b"%PDF-"
    summary = page.request.get(f"{console.url}/compliance/{month}/file?format=csv")
    assert summary.ok and "station0" in summary.text()
    assert page.request.get(f"{console.url}/compliance/2026-13/file").status == 422

    # Both copies of one recording damaged: quarantined, and no intact copy left.
    patrol = next(i for i in console.vault.items() if i.original_name == "patrol.mp4")
    flip_byte(patrol.sealed_locator, offset=100)
    flip_byte(patrol.access_locator, offset=200)
    app = console.vault.app
    fixity.run_slice(app.factory, app.stores, cycle=timedelta(days=90),
                     every=timedelta(hours=1), chunk_size=64 * 1024, everything=True)  # fmt: skip
    page.goto(f"{console.url}/fixity-status")
    with unit_of_work(app.factory, read_only=True) as session:
        counts = fixity.summary(session).by_status
        held = fixity.quarantined(session)
    expect(page.locator("#no-intact")).to_have_text("没有完好副本的录像\uff1a 1")
    assert len(held) == 2 and {q.item_id for q in held} == {patrol.id}
    assert [r[1] for r in _table(page, "table.quarantined")] == [q.copy for q in held]
    assert sum(int(r[1]) for r in _table(page, "table.fixity-summary")) == sum(counts.values())
    console.shot(page, "fixity-zh")

    with unit_of_work(app.factory) as session:
        acts.add_user(session, actor="test", username="gao", roles=["admin"])
        acts.set_password(session, actor="test", username="gao", password=PASSWORD)
    page.click("header form[action='/signout'] button")
    console.sign_in(page, "gao")
    page.click("header form[action='/language'] button[value=en]")
    page.goto(f"{console.url}/doctor")
    expect(page.locator("table.doctor tr", has_text="database reachable")).to_contain_text("passes")
    console.shot(page, "doctor-en")
    page.goto(f"{console.url}/compliance")
    console.shot(page, "compliance-en")
    assert page.goto(f"{console.url}/fixity-status").status == 403  # type: ignore[union-attr]

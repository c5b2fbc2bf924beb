"""Issue 20, cases in the console: a custodian opens a case, attaches a recording, flags and
closes it; each step reaches the recording's custody chain; a refused case number is the
API's message beside its field. The gaps and flagged pages answer for their roles."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from api.web import case_pages
from custody.log.models import CustodyEvent
from tests.web.conftest import Console
from vault.db import unit_of_work
from vault.models import Case, EvidenceItem

# The catalog's Chinese punctuation, full-width as a reader sees it.
COUNTS = "染毒：{}，未查毒：{}"  # noqa: RUF001


def test_a_custodian_opens_attaches_flags_and_closes_a_case(console: Console, page: Page) -> None:
    with unit_of_work(console.vault.app.factory, read_only=True) as session:
        patrol = session.execute(
            select(EvidenceItem.id).where(EvidenceItem.original_name == "patrol.mp4")
        ).scalar_one()
    console.sign_in(page, "chen")
    page.goto(f"{console.url}/case-files")
    page.fill("input[name=number]", "../etc")
    page.click("form.card button[type=submit]")
    error = page.locator("#error-number")
    expect(error).to_be_visible()
    expect(error).to_contain_text("..")
    console.shot(page, "case-number-refused")

    page.fill("input[name=number]", "2026-117")
    page.fill("input[name=title]", "Traffic stop <b>Ring Rd</b>")
    page.click("form.card button[type=submit]")
    expect(page.locator("h1")).to_have_text("案件 2026-117")
    page.fill("textarea[name=items]", str(patrol))
    page.click("button:has-text('关联')")
    expect(page.locator("table.items")).to_contain_text("patrol.mp4")
    page.select_option("select[name=flag]", "litigation")
    page.click("button:has-text('添加标记')")
    expect(page.locator("dl.facts")).to_contain_text("诉讼")
    page.click("button:has-text('立即结案')")
    expect(page.locator("dl.facts")).to_contain_text("+08:00 (CST)")
    expect(page.locator("dl.facts")).to_contain_text("Traffic stop <b>Ring Rd</b>")  # text
    console.shot(page, "case")

    with unit_of_work(console.vault.app.factory, read_only=True) as session:
        case = session.execute(select(Case).where(Case.number == "2026-117")).scalar_one()
        assert case.closed_at is not None and "litigation" in case.flags
        kinds = session.execute(
            select(CustodyEvent.kind).where(CustodyEvent.item_id == patrol)
        ).scalars()
        assert "case_linked" in set(kinds)

    for path, heading in (("/recording-gaps", "录像中断"), ("/flagged-recordings", "查毒异常录像")):
        page.goto(f"{console.url}{path}")
        expect(page.locator("h1")).to_have_text(heading)
    console.shot(page, "flagged")
    console.sign_in(page, "li")  # an investigator: no flagged page
    answer = page.goto(f"{console.url}/flagged-recordings")
    assert answer is not None and answer.status == 403


def test_the_flagged_list_comes_in_pages(
    console: Console, page: Page, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a scanner every recording is unscanned (5 here): the page lists them a page at
    a time, and the dashboard has them counted by the database."""
    monkeypatch.setattr(case_pages, "FLAGGED_PAGE", 2)
    console.sign_in(page, "chen")
    expect(page.locator("section.figures")).to_contain_text(COUNTS.format(0, 5))
    page.goto(f"{console.url}/flagged-recordings")
    expect(page.locator("p.summary")).to_have_text(COUNTS.format(0, 5))
    rows = page.locator("table.flagged tbody tr")
    seen: list[str] = []
    for number, count in ((1, 2), (2, 2), (3, 1)):
        expect(page.locator("nav.pages span")).to_have_text(f"第 {number} 页")
        expect(rows).to_have_count(count)
        seen += [row.locator("td").first.inner_text() for row in rows.all()]
        if number < 3:
            page.click("nav.pages a:has-text('下一页')")
    expect(page.locator("nav.pages a")).to_have_text(["上一页"])
    assert len(set(seen)) == 5, seen  # every one once, none twice


def test_a_malformed_page_number_is_a_page_with_the_apis_words(
    console: Console, page: Page
) -> None:
    console.sign_in(page, "chen")
    for path in ("/flagged-recordings?page=0", "/recordings?page=abc"):
        answer = page.goto(f"{console.url}{path}")
        assert answer is not None and answer.status == 422
        assert answer.headers["content-type"].startswith("text/html")
        expect(page.locator("main")).to_contain_text("query.page:")
    console.shot(page, "malformed-page-number")

"""Issue 21, the destruction path through the pages, each step by its own person: appraiser,
principal, supervisor, executor. Two recordings whose retention ended seconds ago are
appraised for destruction, approved, supervised (the principal, who also holds the supervisor
role, is refused in the page) and destroyed; the register downloaded from the page validates
with its two signatures against the vault's CA."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from custody.admin import acts
from tests.custody.test_audit_report import pyhanko_validate
from tests.retention.conftest import VaultClock, add_people, ingest_expiring, wait_until
from tests.web.conftest import PASSWORD, Console
from vault.db import unit_of_work
from vault.items import find_item
from vault.models import ItemStatus

WORKFLOW = ("appraiser1", "appraiser2", "principal", "supervisor", "executor")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[VaultClock]:
    yield VaultClock(monkeypatch)


def _as(console: Console, page: Page, name: str, path: str) -> None:
    page.goto(f"{console.url}/signin")
    if page.locator("header form[action='/signout'] button").count():
        page.click("header form[action='/signout'] button")
    console.sign_in(page, name)
    page.wait_for_url(f"{console.url}/**")
    page.goto(f"{console.url}{path}")


def test_the_destruction_path_through_the_pages(
    console: Console, page: Page, clip_dir: Path, clock: VaultClock, tmp_path: Path
) -> None:
    add_people(console.vault)
    with unit_of_work(console.vault.app.factory) as session:
        for name in WORKFLOW:
            acts.set_password(session, actor="test", username=name, password=PASSWORD)
    soon = datetime.now(UTC) + timedelta(minutes=5)
    every = ingest_expiring(console.vault, clip_dir, clock, clips=3, seconds=4)
    expiring = [i for i in every if i.retain_until is not None and i.retain_until < soon]
    assert len(expiring) == 3  # the console's own recordings are kept 30 years from today
    *items, kept = expiring
    new_end = (datetime.now(ZoneInfo(console.vault.settings.display_timezone))
               + timedelta(days=400)).date()  # fmt: skip
    wait_until(max(i.retain_until for i in items) + timedelta(seconds=1))  # type: ignore[type-var]

    _as(console, page, "appraiser1", "/retention-due")
    for item in items:
        row = page.locator(f"#due-{item.id}")
        row.locator("select").select_option("destroy")
        row.locator("input[name^=reason]").fill("retention ended; no case")
    row = page.locator(f"#due-{kept.id}")
    row.locator("select").select_option("keep")
    row.locator("input[name^=reason]").fill("training material")
    row.locator("input[type=date]").fill(new_end.isoformat())
    page.fill("input[name=members]", "appraiser2")
    console.shot(page, "retention-due-zh")
    page.click("#appraisal button[type=submit]")
    page.wait_for_url("**/destruction-batches/APR-*")
    batch = page.url.rsplit("/", 1)[1]
    expect(page.locator("#batch-status")).to_have_text("鉴定")

    _as(console, page, "principal", f"/destruction-batches/{batch}")
    page.fill("#decide textarea[name=note]", "approved at the retention meeting")
    page.click("#decide button[value=yes]")
    expect(page.locator("#batch-status")).to_have_text("已批准")
    # The principal also holds the supervisor role: refused in the page, nothing recorded.
    page.click("#supervise button")
    expect(page.locator("#batch-error")).to_contain_text("cannot supervise it")
    console.shot(page, "retention-principal-refused-zh")

    _as(console, page, "supervisor", f"/destruction-batches/{batch}")
    page.click("#supervise button")
    expect(page.locator("#execute")).to_have_count(0)  # the supervisor does not execute

    _as(console, page, "executor", f"/destruction-batches/{batch}")
    page.click("#execute button")
    expect(page.locator("#batch-status")).to_have_text("已销毁", timeout=60000)
    console.shot(page, "retention-destroyed-zh")
    with page.expect_download() as download:
        page.click("#register")
    register = tmp_path / "register.pdf"
    download.value.save_as(register)
    checked = pyhanko_validate(register, console.vault.settings.keys_path / "ca" / "ca.pem")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count("The signature is judged VALID") == 2, checked.stdout
    with unit_of_work(console.vault.app.factory, read_only=True) as session:
        for item in items:
            assert find_item(session, str(item.id)).status == ItemStatus.DESTROYED
        still = find_item(session, str(kept.id))
        assert still.status == ItemStatus.PRESERVED  # kept, with the end chosen in the page
        zone = ZoneInfo(console.vault.settings.display_timezone)
        assert still.retain_until is not None
        assert still.retain_until.astimezone(zone).date() == new_end


def test_holds_and_the_policy_through_the_pages(console: Console, page: Page) -> None:
    with unit_of_work(console.vault.app.factory) as session:
        acts.add_user(session, actor="test", username="gao", roles=["admin"])
        acts.set_password(session, actor="test", username="gao", password=PASSWORD)
    patrol = next(i for i in console.vault.items() if i.original_name == "patrol.mp4")
    _as(console, page, "zhao", "/legal-holds")
    form = page.locator("#place-hold")
    form.locator("input[name=item]").fill(patrol.digest[:12])
    form.locator("input[name=reference]").fill("   ")
    form.locator("input[name=reason]").fill("appeal pending")
    form.locator("button").click()
    expect(page.locator("#error-reference")).to_be_visible()
    form = page.locator("#place-hold")
    form.locator("input[name=reference]").fill("(2026) court order 17")
    form.locator("button").click()
    row = page.locator("table.holds tbody tr", has_text="(2026) court order 17")
    expect(row).to_contain_text(str(patrol.id))
    console.shot(page, "holds-zh")
    page.goto(f"{console.url}/recordings/{patrol.id}")
    expect(page.locator("ul.holds")).to_contain_text("(2026) court order 17")
    expect(page.locator("tr.event-hold_placed")).to_have_count(1)

    _as(console, page, "chen", "/legal-holds")  # a custodian reads, does not decide
    expect(page.locator("#place-hold")).to_have_count(0)
    expect(page.locator("form.release")).to_have_count(0)

    _as(console, page, "zhao", "/legal-holds")
    page.locator("form.release input[name=reason]").fill("appeal decided")
    page.locator("form.release button").click()
    expect(page.locator("table.holds tbody")).to_contain_text("没有处于诉讼保全的录像")

    _as(console, page, "gao", "/retention-policy")
    page.fill("#edit-policy input[name=unattached_years]", "10")
    page.fill("#edit-policy input[name=reason]", "save space")
    page.click("#edit-policy button")
    expect(page.locator("#policy-error")).to_contain_text("shorten the retention of 5 existing")
    expect(page.locator("#unattached-years")).to_contain_text("30")
    console.shot(page, "policy-refused-zh")
    page.fill("#edit-policy input[name=unattached_years]", "40")
    page.fill("#edit-policy input[name=reason]", "provincial rule 7")
    page.click("#edit-policy button")
    expect(page.locator("#unattached-years")).to_contain_text("40")
    page.click("header form[action='/language'] button[value=en]")
    page.goto(f"{console.url}/retention-policy")
    expect(page.locator("#unattached-years")).to_have_text("40 years from receipt")
    console.shot(page, "policy-en")
    page.goto(f"{console.url}/legal-holds")
    console.shot(page, "holds-en")

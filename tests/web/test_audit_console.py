"""Issue 21, an audit started from the page: it runs in the background, the page shows its
progress (entries, recordings and bytes) and keeps showing it across a reload and in another
browser, it refuses a second run while one is going, and it ends with a report signed by the
vault that `pyhanko sign validate` accepts against the vault's CA."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from custody.log import audit_runs
from custody.log.audit_models import AuditRun
from custody.log.checkpoints import run_checkpoint_job
from tests.custody.test_audit_report import pyhanko_validate
from tests.web.conftest import Console
from vault.db import unit_of_work


def test_an_audit_from_the_page_shows_progress_and_ends_with_a_signed_report(
    console: Console, page: Page, browser: Browser, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    app = console.vault.app
    signed = run_checkpoint_job(app.factory, app.settings, app.stores.sealed, force=False,
                                renew=False)  # fmt: skip
    assert signed.made is not None and signed.sealed == 1  # signed, and kept in the sealed store
    # Every recording's progress is written, and each write lingers, so that a run of this
    # small vault lasts long enough to be watched (the product writes at most twice a second).
    monkeypatch.setattr(audit_runs, "WRITE_EVERY_S", 0.0)
    write = audit_runs._write
    seen: list[tuple[int, int]] = []

    def slow_write(factory: object, run_id: int, **values: object) -> None:
        write(factory, run_id, **values)  # type: ignore[arg-type]
        if "items_done" in values and "status" not in values:
            seen.append((int(values["items_done"]), int(values["bytes_done"])))  # type: ignore[call-overload]
            time.sleep(2.0)  # long enough for a second person to sign in, on a loaded CI

    monkeypatch.setattr(audit_runs, "_write", slow_write)

    console.sign_in(page, "sun")
    page.goto(f"{console.url}/audit-runs")
    page.click("#start-audit button")
    page.wait_for_url("**/audit-runs/1")
    expect(page.locator("#audit-status")).to_have_attribute("data-status", "running")
    page.reload()  # the run lives on the server, not in the page
    expect(page.locator("#audit-status")).to_have_attribute("data-status", "running")
    console.shot(page, "audit-running-zh")
    other = browser.new_context(locale="en-US")
    second = other.new_page()
    console.sign_in(second, "sun")
    second.goto(f"{console.url}/audit-runs")
    second.click("#start-audit button")  # one at a time
    expect(second.locator("p.error")).to_contain_text("is still running")
    second.goto(f"{console.url}/audit-runs/1")
    expect(second.locator("#audit-status")).to_have_attribute("data-status", "running")

    expect(page.locator("#audit-status")).not_to_have_attribute(
        "data-status", "running", timeout=60000
    )
    with unit_of_work(console.vault.app.factory, read_only=True) as session:
        detail = session.execute(select(AuditRun.detail)).scalar_one()
    assert page.locator("#audit-status").get_attribute("data-status") == "passed", detail
    console.shot(page, "audit-passed-zh")
    second.click("header form[action='/language'] button[value=en]")
    second.goto(f"{console.url}/audit-runs/1")
    expect(second.locator("#audit-status")).to_have_text("passed, nothing found")
    console.shot(second, "audit-passed-en")
    other.close()
    with unit_of_work(console.vault.app.factory, read_only=True) as session:
        run = session.execute(select(AuditRun)).scalar_one()
        assert run.items_done == run.items_total == 5 and run.bytes_done == run.bytes_total > 0
        assert run.findings == 0 and run.entries > 0
    # The progress grew recording by recording, up to the whole.
    assert [n for n, _ in seen] == list(range(1, 6))
    assert [b for _, b in seen] == sorted(b for _, b in seen)
    assert page.locator("#audit-items").get_attribute("value") == "5"

    with page.expect_download() as download:
        page.click("#audit-report")
    report = tmp_path / "audit.pdf"
    download.value.save_as(report)
    checked = pyhanko_validate(report, console.vault.settings.keys_path / "ca" / "ca.pem")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "The signature is judged VALID" in checked.stdout, checked.stdout

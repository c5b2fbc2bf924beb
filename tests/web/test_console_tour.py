"""Issue 21, every console page of this issue in both languages: a person holding the
auditor's, custodian's, appraiser's, principal's and admin's roles opens each page in zh-CN
and in English; each answers 200 in the chosen language with its heading, and the test saves
a screenshot of each (named page-language) for the closing note."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from custody.admin import acts
from custody.log.checkpoints import WitnessFile, export_witness, run_checkpoint_job
from tests.web.conftest import PASSWORD, Console
from vault.db import unit_of_work

PAGES = {
    "checkpoints": "/custody-checkpoints", "audits": "/audit-runs", "fixity": "/fixity-status",
    "retention-due": "/retention-due", "holds": "/legal-holds", "policy": "/retention-policy",
    "compliance": "/compliance", "people": "/people", "settings": "/settings",
    "doctor": "/doctor", "tokens": "/api-tokens", "sign-ins": "/sign-ins",
}  # fmt: skip


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_every_page_in_both_languages(console: Console, page: Page, language: str) -> None:
    app = console.vault.app
    assert run_checkpoint_job(app.factory, app.settings, app.stores.sealed, force=False,
                              renew=False).made is not None  # fmt: skip
    with unit_of_work(app.factory) as session:
        roles = ["admin", "auditor", "custodian", "appraiser", "principal"]
        acts.add_user(session, actor="test", username="ma", roles=roles)
        acts.set_password(session, actor="test", username="ma", password=PASSWORD)
    console.sign_in(page, "ma")
    page.wait_for_url(f"{console.url}/**")
    page.click(f"header form[action='/language'] button[value={language}]")
    page.wait_for_load_state()
    for name, path in PAGES.items():
        answer = page.goto(f"{console.url}{path}")
        assert answer is not None and answer.status == 200, (path, answer and answer.status)
        expect(page.locator("html")).to_have_attribute(
            "lang", "zh-CN" if language == "zh_CN" else "en"
        )
        expect(page.locator("main h1")).to_have_count(1)
        assert "{{" not in page.content() and "msgid" not in page.content()
        console.shot(page, f"{name}-{language}")
    page.goto(f"{console.url}/custody-checkpoints")
    with page.expect_download() as download:
        page.click("#witness")
    witness = WitnessFile.from_json(download.value.path().read_text(encoding="utf-8"))
    with unit_of_work(app.factory, read_only=True) as session:
        assert witness == export_witness(session)

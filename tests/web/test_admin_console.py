"""Issue 21, administration in the console: an admin adds a person with a password shown
once, who signs in and sees only the pages of their roles; refusals (a bad name, admin with
approver) stand beside their fields; a disabled person's open session ends at its next
request; a person issues and revokes their own API token; the settings page masks secrets."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from api.web.admin_pages import in_force, masked_address
from config.settings import Settings
from custody.admin import acts
from custody.admin.models import AdminEvent
from tests.web.conftest import PASSWORD, Console
from vault.db import unit_of_work

CLIENT_SECRET = "oidc-client-secret-never-shown"  # noqa: S105 - a test value, to be masked
WEBHOOK_SECRET = "T0123-webhook-secret-never-shown"  # noqa: S105 - in a webhook's path


@pytest.fixture
def console_options() -> dict[str, object]:
    # A provider that is never contacted: its secret is here only to be masked on the page.
    return {"oidc": {"issuer": "https://id.example-police.cn", "client_id": "evidence-vault",
                     "client_secret": CLIENT_SECRET},
            "alert_webhook_url": f"https://hooks.example.cn/services/{WEBHOOK_SECRET}"}  # fmt: skip


def _admin(console: Console) -> None:
    with unit_of_work(console.vault.app.factory) as session:
        acts.add_user(session, actor="test", username="gao", roles=["admin"])
        acts.set_password(session, actor="test", username="gao", password=PASSWORD)


def _nav(page: Page) -> list[str]:
    return page.eval_on_selector_all("header nav a", "links => links.map(a => a.pathname)")


def test_an_admin_adds_a_person_who_sees_only_their_pages(
    console: Console, page: Page, browser: Browser
) -> None:
    _admin(console)
    console.sign_in(page, "gao")
    page.goto(f"{console.url}/people")
    form = page.locator("#add-person")
    form.locator("input[name=username]").fill("bad name!")
    form.locator("input[value=investigator]").check()
    form.locator("button[type=submit]").click()
    expect(page.locator("#error-username")).to_be_visible()
    form = page.locator("#add-person")
    form.locator("input[name=username]").fill("xu")
    form.locator("input[value=admin]").check()
    form.locator("input[value=approver]").check()
    form.locator("button[type=submit]").click()
    expect(page.locator("#error-roles")).to_contain_text("separation of duties")
    console.shot(page, "people-refused-zh")

    form = page.locator("#add-person")
    form.locator("input[name=display_name]").fill("Xu Ming")
    for role in ("admin", "approver"):
        form.locator(f"input[value={role}]").uncheck()
    form.locator("input[value=investigator]").check()
    form.locator("button[type=submit]").click()
    password = page.locator("#shown-password code").inner_text()
    assert len(password) >= 20
    console.shot(page, "people-added-zh")
    page.reload()  # shown once: a reload shows it no more
    expect(page.locator("#shown-password")).to_have_count(0)

    other = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    xu = other.new_page()
    console.sign_in(xu, "xu", password)
    xu.wait_for_url(f"{console.url}/**")
    assert _nav(xu) == ["/recordings", "/access", "/case-files", "/recording-gaps", "/api-tokens"]
    for path in ("/people", "/settings", "/custody-checkpoints", "/sign-ins"):
        assert xu.goto(f"{console.url}{path}").status == 403  # type: ignore[union-attr]

    # Their own API token: shown once, works against the API, revoked from the page.
    xu.goto(f"{console.url}/api-tokens")
    xu.fill("input[name=label]", "laptop")
    xu.click("form[action='/api-tokens'] button[type=submit]")
    token = xu.locator("#issued-token").inner_text()
    auth = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{console.url}/items", headers=auth, timeout=60).status_code == 200
    xu.locator("form[action$='/revoke'] button").click()
    assert httpx.get(f"{console.url}/items", headers=auth, timeout=60).status_code == 401

    # Disabled while signed in: the very next request ends the session.
    page.goto(f"{console.url}/people")
    page.locator("#person-xu button.disable").click()
    expect(page.locator("#person-xu")).to_have_class("disabled")
    xu.goto(f"{console.url}/recordings")
    assert "/signin" in xu.url
    other.close()
    with unit_of_work(console.vault.app.factory, read_only=True) as session:
        acts_done = [(e.actor, e.action, e.subject) for e in session.execute(
            select(AdminEvent).where(AdminEvent.subject == "xu").order_by(AdminEvent.seq)
        ).scalars() if e.action not in ("signed_in",)]  # fmt: skip
    assert acts_done == [
        ("user:gao", "user_added", "xu"), ("user:gao", "password_set", "xu"),
        ("user:xu", "token_issued", "xu"), ("user:xu", "token_revoked", "xu"),
        ("user:gao", "user_disabled", "xu"),
    ]  # fmt: skip


def test_roles_and_settings_pages(console: Console, page: Page) -> None:
    _admin(console)
    console.sign_in(page, "gao")
    page.goto(f"{console.url}/people")
    row = page.locator("#person-li")
    row.locator("input[value=auditor]").check()
    row.locator("button", has_text="保存角色").click()
    expect(page.locator("#person-li input[value=auditor]")).to_be_checked()
    row = page.locator("#person-wang")  # investigator + approver: admin would break the rule
    row.locator("input[value=admin]").check()
    row.locator("button", has_text="保存角色").click()
    expect(page.locator("#error-roles-wang")).to_contain_text("separation of duties")
    page.goto(f"{console.url}/settings")
    content = page.content()
    assert CLIENT_SECRET not in content and WEBHOOK_SECRET not in content
    expect(page.locator("table.settings tr", has_text="alert_webhook_url")).to_contain_text(
        "https://hooks.example.cn/••••••"
    )
    secret_row = page.locator("table.settings tr", has_text="oidc.client_secret")
    expect(secret_row).to_contain_text("••••••")
    page.click("header form[action='/language'] button[value=en]")
    page.goto(f"{console.url}/settings")
    console.shot(page, "settings-en")
    page.goto(f"{console.url}/people")
    console.shot(page, "people-en")


def test_a_password_in_an_address_is_masked() -> None:
    assert masked_address("https://stamper:s3cret@tsa.example.cn:8443/stamp?x=1", whole=False) == (
        "https://stamper:••••••@tsa.example.cn:8443/stamp?x=1"
    )
    assert masked_address("https://hooks.example.cn/services/T0/B0/XYZ", whole=True) == (
        "https://hooks.example.cn/••••••"
    )
    assert masked_address("https://hooks.example.cn", whole=True) == "https://hooks.example.cn"


def test_the_settings_in_force_hide_every_secret(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, database_url="postgresql+psycopg://vault:db-pass-1@db.internal/vault",
        access_store={"kind": "s3", "bucket": "evidence-access", "access_key_id": "AKIA1",
                      "endpoint_url": "https://ops:s3-pass-2@s3.internal:9000",
                      "secret_access_key": "s3-secret-3"},
        alert_webhook_url="https://hooks.example.cn/services/hook-secret-4",
    )  # fmt: skip
    shown = dict(in_force(settings))
    secrets = ("db-pass-1", "s3-pass-2", "s3-secret-3", "hook-secret-4")
    assert not any(secret in value for value in shown.values() for secret in secrets)
    assert shown["access_store.endpoint_url"] == "https://ops:••••••@s3.internal:9000"
    assert shown["access_store.bucket"] == "evidence-access"  # the rest stays readable

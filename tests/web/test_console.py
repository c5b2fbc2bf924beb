"""Issue 20, first pages: people sign in to the web console in a real Chromium, in Chinese or
English, find recordings and read their custody timeline; hostile names stay text; sessions,
CSRF, lockout and the security headers hold."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
from playwright.sync_api import Page, expect
from sqlalchemy import select, update

from custody.admin import acts
from custody.admin.log import SIGN_IN_ACTIONS
from custody.admin.models import AdminEvent
from tests.web.conftest import HOSTILE_NAME, PASSWORD, Console
from vault.db import unit_of_work, utcnow
from vault.models import User, WebSession


def _admin_log(console: Console) -> list[tuple[str, str]]:
    with unit_of_work(console.vault.app.factory, read_only=True) as session:
        rows = session.execute(select(AdminEvent).order_by(AdminEvent.seq)).scalars()
        return [(e.action, e.subject) for e in rows]


def test_a_custodian_finds_a_recording_and_reads_its_custody(console: Console, page: Page) -> None:
    page.goto(f"{console.url}/recordings")
    expect(page).to_have_url(f"{console.url}/signin?next=%2Frecordings")  # not signed in
    console.sign_in(page, "chen")
    expect(page.locator("h1")).to_have_text("总览")  # the dashboard, in Chinese by default
    expect(page.locator("table").first).to_contain_text("station0")
    expect(page.locator(".summary")).to_have_text("最近24小时入库录像：5")  # noqa: RUF001
    console.shot(page, "dashboard-zh")

    page.click("text=录像")
    page.fill("input[name=device]", "CAM7")
    page.fill("input[name=since]", "2026-12-01")  # a date: that day in Shanghai
    page.fill("input[name=until]", "2026-12-02")
    page.click("button:has-text('查找')")
    rows = page.locator("table.items tbody tr")
    expect(rows).to_have_count(1)  # not CAM9's, not the one two days earlier
    expect(rows).to_contain_text("patrol.mp4")
    expect(rows).to_contain_text("2026-12-01 17:30:00 +08:00 (CST)")
    console.shot(page, "recordings-cam7")

    page.click("text=patrol.mp4")
    expect(page.locator("table.timeline tr.event-ingested")).to_contain_text("入库")
    hashes = page.locator("code.hash").all_inner_texts()
    assert hashes and all(len(h) == 64 for h in hashes)
    expect(page.locator("dl.facts")).to_contain_text("+08:00 (CST)")  # the zone is shown
    console.shot(page, "recording-timeline")

    page.goto(f"{console.url}/recordings?since=2026-02-30")
    expect(page.locator(".filters .error")).to_contain_text("2026-02-30")  # beside its field


def test_hostile_names_are_shown_as_text(console: Console, page: Page) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    console.sign_in(page, "li")
    expect(page).to_have_url(f"{console.url}/recordings")  # investigators have no dashboard
    link = page.locator("table.items a", has_text="<img src=x onerror=alert(1)>")
    expect(link).to_have_count(1)
    # The right-to-left override is shown as its code point, not obeyed.
    expect(link).to_have_text("<img src=x onerror=alert(1)>\\u202egnp.mp4")
    link.click()
    expect(page.locator("dl.facts")).to_contain_text("<img src=x onerror=alert(1)>")
    assert page.locator("img").count() == 0
    console.shot(page, "hostile-name")
    assert dialogs == []
    assert HOSTILE_NAME.startswith("<img")


def test_session_cookie_and_headers(console: Console, page: Page) -> None:
    console.sign_in(page, "chen")
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["evault_session"]
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    answer = httpx.get(f"{console.url}/", cookies={"evault_session": session["value"]})
    policy = answer.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert answer.headers["x-frame-options"] == "DENY"
    assert ("signed_in", "chen") in _admin_log(console)


def test_a_form_without_its_token_or_from_elsewhere_records_nothing(
    console: Console, page: Page
) -> None:
    console.sign_in(page, "chen")
    secret = {c["name"]: c["value"] for c in page.context.cookies()}["evault_session"]
    jar = {"evault_session": secret}
    before = len(_admin_log(console))
    no_token = httpx.post(f"{console.url}/language", data={"language": "en"}, cookies=jar)
    assert no_token.status_code == 403 and "security token" in no_token.text
    elsewhere = httpx.post(
        f"{console.url}/language", data={"language": "en"}, cookies=jar,
        headers={"Origin": "http://evil.example"},
    )  # fmt: skip
    assert elsewhere.status_code == 403 and "another origin" in elsewhere.text
    # A real cross-site form (localhost is another site than 127.0.0.1): the browser does not
    # send the SameSite=Strict cookie with it.
    page.goto(console.url.replace("127.0.0.1", "localhost") + "/static/console.css")
    page.set_content(
        f'<form method="post" action="{console.url}/language">'
        '<input name="language" value="en"><button id="go">go</button></form>'
    )
    page.click("#go")
    expect(page.locator("body")).to_contain_text("console session")  # refused: no session
    with unit_of_work(console.vault.app.factory, read_only=True) as session:
        chen = session.execute(select(User).where(User.username == "chen")).scalar_one()
        assert chen.language is None  # nothing changed
    assert len(_admin_log(console)) == before


def test_repeated_wrong_passwords_lock_the_account(console: Console, page: Page) -> None:
    for _ in range(2):
        console.sign_in(page, "zhao", "not the password at all")
        expect(page.locator(".error")).to_have_text("用户名或密码错误。")
    console.sign_in(page, "zhao", "not the password at all")
    expect(page.locator(".error")).to_contain_text("此账户锁定至")
    console.sign_in(page, "zhao", PASSWORD)  # the right one, while locked
    expect(page.locator(".error")).to_contain_text("此账户锁定至")
    console.shot(page, "locked")
    log = [action for action, subject in _admin_log(console) if subject == "zhao"]
    assert log[-4:] == ["sign_in_failed", "sign_in_failed", "locked_out", "locked_out"]


def test_the_same_page_in_chinese_and_english(console: Console, page: Page) -> None:
    console.sign_in(page, "chen")
    page.goto(f"{console.url}/recordings")
    expect(page.locator("h1")).to_have_text("录像")
    console.shot(page, "recordings-zh")
    page.click("button[value=en]")
    expect(page.locator("h1")).to_have_text("Dashboard")
    page.goto(f"{console.url}/recordings")
    expect(page.locator("h1")).to_have_text("Recordings")
    expect(page.locator("footer")).to_contain_text("Asia/Shanghai")
    console.shot(page, "recordings-en")


def test_disabling_a_user_signs_them_out_everywhere(console: Console, page: Page) -> None:
    console.sign_in(page, "li")
    expect(page.locator("h1")).to_have_text("录像")
    with unit_of_work(console.vault.app.factory) as session:
        acts.disable_user(session, actor="test", username="li")
    page.reload()
    expect(page).to_have_url(f"{console.url}/signin?next=%2Frecordings")


def test_an_idle_session_is_renewed_by_a_page_and_by_a_form(console: Console, page: Page) -> None:
    console.sign_in(page, "chen")

    def idle_for(minutes: int) -> datetime:
        earlier = utcnow() - timedelta(minutes=minutes)
        with unit_of_work(console.vault.app.factory) as session:
            session.execute(update(WebSession).values(last_seen_at=earlier))
        return earlier

    def last_seen() -> datetime:
        with unit_of_work(console.vault.app.factory, read_only=True) as session:
            return session.execute(select(WebSession.last_seen_at)).scalar_one()

    earlier = idle_for(5)
    page.goto(f"{console.url}/recordings")  # a GET: read-only, renewed in a unit of its own
    expect(page.locator("h1")).to_have_text("录像")
    assert last_seen() > earlier
    earlier = idle_for(5)
    page.click("button[value=en]")  # a form: renewed in the form's own unit of work
    expect(page.locator("h1")).to_have_text("Dashboard")
    assert last_seen() > earlier
    idle_for(31)  # past console_idle_minutes
    page.goto(f"{console.url}/recordings")
    expect(page).to_have_url(f"{console.url}/signin?next=%2Frecordings")


SHOWN_AS = [("signed_in", "sun"), ("signed_in", "li"), ("sign_in_failed", "li"),
            ("sign_in_failed", HOSTILE_NAME)]  # fmt: skip
WORDS = {"signed_in": "登录成功", "sign_in_failed": "登录失败"}


def test_an_auditor_reads_the_sign_in_record(console: Console, page: Page) -> None:
    """Who signed in, failed or was locked out, when and from where: the administration log's
    entries, shown to auditors as text (a user name typed as markup stays text)."""
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    console.sign_in(page, HOSTILE_NAME, "whatever")
    console.sign_in(page, "li", "not the password at all")
    console.sign_in(page, "li")
    expect(page.locator("h1")).to_have_text("录像")
    answer = page.goto(f"{console.url}/sign-ins")  # an investigator may not read it
    assert answer is not None and answer.status == 403

    console.sign_in(page, "sun")
    page.click("nav a:has-text('登录记录')")
    rows = page.locator("table.sign-ins tbody tr")
    expect(rows.first).to_contain_text("sun")  # newest first
    shown = [row.locator("td").all_inner_texts() for row in rows.all()]
    assert [(r[1], r[2], r[3]) for r in shown] == [
        (WORDS[action], name.replace("\u202e", "\\u202e"), "127.0.0.1")  # RLO shown, not obeyed
        for action, name in SHOWN_AS
    ]
    assert page.locator("img").count() == 0
    assert all(r[0].endswith("+08:00 (CST)") for r in shown)
    logged = [(action, who) for action, who in _admin_log(console) if action in SIGN_IN_ACTIONS]
    assert logged[::-1] == SHOWN_AS
    assert dialogs == []
    console.shot(page, "sign-in-record")

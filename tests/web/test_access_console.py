"""Issue 20, access in the console: an investigator asks for a recording, is refused playback
while the request is pending, another person approves it from the queue, the investigator
plays and seeks the video in a real Chromium, and the custody chain shows each delivery with
the digest of the bytes sent. Self-approval and an expired request are refused in the page;
form errors are the API's, beside their fields."""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select, update

from custody.access.models import AccessRequest
from custody.admin import acts
from custody.log.kinds import EventKind
from custody.log.models import CustodyEvent
from ingest.renditions import render_pending
from tests.export.exporting import run_verifier
from tests.web.conftest import HOSTILE_SIDECAR, PASSWORD, Console
from vault.db import unit_of_work, utcnow
from vault.models import EvidenceItem, User


@dataclass(frozen=True)
class Recorded:
    actor: str
    data: dict[str, Any]


def _item(console: Console, name: str) -> EvidenceItem:
    with unit_of_work(console.vault.app.factory, read_only=True) as session:
        found = session.execute(
            select(EvidenceItem).where(EvidenceItem.original_name == name)
        ).scalar_one()
        session.expunge(found)
        return found


def _events(console: Console, item: EvidenceItem, kind: EventKind) -> list[Recorded]:
    with unit_of_work(console.vault.app.factory, read_only=True) as session:
        rows = session.execute(
            select(CustodyEvent.actor, CustodyEvent.data)
            .where(CustodyEvent.item_id == item.id, CustodyEvent.kind == kind.value)
            .order_by(CustodyEvent.seq)
        ).all()
        return [Recorded(actor, data) for actor, data in rows]


# Waits until the element can play at its position (HAVE_FUTURE_DATA). A function, not a string
# for wait_for_function: the page's CSP forbids evaluating strings, and the test keeps it on.
PLAYABLE = """v => new Promise(done => {
    const started = Date.now();
    const check = () => v.readyState >= 3 || v.error || Date.now() - started > 20000
        ? done(v.error ? `error ${v.error.code} ${v.error.message}` : v.readyState)
        : setTimeout(check, 50);
    check();
})"""


def _ask(console: Console, page: Page, item: EvidenceItem, reason: str) -> str:
    page.goto(f"{console.url}/recordings/{item.id}")
    page.click("a[href^='/access/new']")
    page.fill("textarea[name=reason]", reason)
    page.click("form.request-form button[type=submit]")
    expect(page.locator("dd.status")).to_have_text("待审批")
    number = page.locator("h1").inner_text().split()[-1]
    assert re.fullmatch(r"AR-\d{8}-[0-9A-F]{6}", number), number
    return number


def _signed_in_page(browser: Browser, console: Console, username: str) -> Page:
    other = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = other.new_page()
    console.sign_in(page, username)
    return page


def test_request_approve_play_and_the_delivery_on_record(
    console: Console, page: Page, browser: Browser
) -> None:
    patrol = _item(console, "patrol.mp4")
    console.sign_in(page, "li")
    number = _ask(console, page, patrol, "Case 2026-117: identify the vehicle")
    console.shot(page, "request-pending")

    page.goto(f"{console.url}/access/{number}/play/{patrol.id}")  # pending: no player
    expect(page.locator(".refused")).to_contain_text(f"request {number} is pending")
    assert page.locator("video").count() == 0
    assert _events(console, patrol, EventKind.VIEWED) == []
    console.shot(page, "play-refused-pending")

    zhao = _signed_in_page(browser, console, "zhao")
    zhao.goto(f"{console.url}/access")
    queued = zhao.locator("#queue table tbody tr", has_text=number)
    expect(queued).to_have_count(1)
    console.shot(zhao, "approver-queue")
    queued.locator("a").click()
    zhao.fill("form.decision textarea[name=reason]", "Within the case's scope")
    zhao.click("form.decision button[value=approve]")
    expect(zhao.locator("dd.status")).to_have_text("已批准")
    expect(zhao.locator("#queue")).to_have_count(0)  # the request page, not the queue
    zhao.context.close()

    page.goto(f"{console.url}/access/{number}")
    expect(page.locator("dd.time-left")).to_contain_text("+08:00 (CST)")
    page.click("a:has-text('播放')")
    video = page.locator("video")
    assert video.evaluate(PLAYABLE) in (3, 4)
    duration = video.evaluate("v => v.duration")
    assert duration > 0.5
    video.evaluate(
        "v => new Promise(done => { v.addEventListener('seeked', done, {once: true});"
        " v.currentTime = v.duration / 2; })"
    )
    assert video.evaluate(PLAYABLE) in (3, 4)
    assert abs(video.evaluate("v => v.currentTime") - duration / 2) < 0.2
    console.shot(page, "playback")

    viewed = _events(console, patrol, EventKind.VIEWED)
    assert viewed, "a playback is a custody event"
    assert all(e.actor == "user:li" and e.data["request"] == number for e in viewed)
    page.goto(f"{console.url}/recordings/{patrol.id}")
    rows = page.locator("table.timeline tr.event-viewed")
    expect(rows.first).to_be_visible()
    shown = " ".join(rows.all_inner_texts())
    for event in viewed:
        assert event.data["digest"] in shown  # the digest of exactly the bytes sent
    assert patrol.digest in {e.data["digest"] for e in viewed}  # the whole file, once at least
    console.shot(page, "timeline-after-playback")


def test_nobody_approves_their_own_request_in_the_page(console: Console, page: Page) -> None:
    patrol = _item(console, "patrol.mp4")
    console.sign_in(page, "wang")  # investigator and approver
    number = _ask(console, page, patrol, "own request")
    expect(page.locator("form.decision")).to_have_count(0)
    page.goto(f"{console.url}/access")
    expect(page.locator("#queue")).to_contain_text("没有待审批的申请")
    # Forged: the decision posted anyway, with the page's own token.
    token = page.locator("input[name=csrf]").first.get_attribute("value")
    answer = page.request.post(
        f"{console.url}/access/{number}/decision",
        form={"csrf": token or "", "decision": "approve", "reason": "mine"},
    )
    assert answer.status == 409
    assert "nobody approves or refuses their own request" in answer.text()
    page.set_content(answer.text())
    console.shot(page, "self-approval-refused")
    assert _events(console, patrol, EventKind.ACCESS_APPROVED) == []


def test_an_expired_request_says_why(console: Console, page: Page) -> None:
    patrol = _item(console, "patrol.mp4")
    console.sign_in(page, "li")
    number = _ask(console, page, patrol, "expiring")
    _approved_by_zhao(console, number)
    with unit_of_work(console.vault.app.factory) as session:  # the period ran out
        session.execute(
            update(AccessRequest)
            .where(AccessRequest.number == number)
            .values(valid_until=utcnow() - timedelta(minutes=1))
        )
    page.goto(f"{console.url}/access/{number}")
    expect(page.locator("dd.time-left")).to_contain_text("已于")
    expect(page.locator("td .refused")).to_contain_text(f"request {number} expired at")
    page.goto(f"{console.url}/access/{number}/play/{patrol.id}")
    expect(page.locator(".refused")).to_contain_text("expired")
    assert page.locator("video").count() == 0
    content = page.request.get(f"{console.url}/access/{number}/items/{patrol.id}/content")
    assert content.status == 403
    assert _events(console, patrol, EventKind.VIEWED) == []
    console.shot(page, "expired")


def _approved_by_zhao(console: Console, number: str) -> None:
    """The approver's decision, posted as the page's form is (another person, no browser)."""
    with httpx.Client(base_url=console.url) as zhao:
        _sign_in_httpx(zhao, "zhao")
        form = {"csrf": _csrf_of(zhao.get("/access").text), "decision": "approve", "reason": "ok"}
        decided = zhao.post(f"/access/{number}/decision", data=form)
        assert decided.status_code == 303, decided.text


def _sign_in_httpx(client: httpx.Client, username: str) -> None:
    form = client.get("/signin").text
    answer = client.post("/signin", data={"username": username, "password": PASSWORD,
                                           "csrf": _csrf_of(form)})  # fmt: skip
    assert answer.status_code == 303, answer.text


def _csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def test_form_errors_are_the_apis_beside_their_fields(console: Console, page: Page) -> None:
    patrol = _item(console, "patrol.mp4")
    with unit_of_work(console.vault.app.factory) as session:  # the API, for the same input
        secret = acts.issue_token(session, actor="test", username="li", days=1).secret
    api = httpx.Client(base_url=console.url, headers={"Authorization": f"Bearer {secret}"})
    console.sign_in(page, "li")

    page.goto(f"{console.url}/access/new?item={patrol.id}")
    page.fill("textarea[name=reason]", "")
    page.evaluate("document.querySelector('textarea[name=reason]').removeAttribute('required')")
    page.click("form.request-form button[type=submit]")
    same = api.post("/requests", json={"items": [str(patrol.id)], "purpose": "view", "reason": ""})
    assert same.status_code == 422
    expect(page.locator("#error-reason")).to_have_text(same.json()["errors"][0]["msg"])

    page.fill("textarea[name=reason]", "for a lawyer")
    page.select_option("select[name=requester_kind]", "lawyer")
    page.click("form.request-form button[type=submit]")
    lawyer = {"items": [str(patrol.id)], "purpose": "view", "reason": "for a lawyer",
              "requester_kind": "lawyer"}  # fmt: skip
    same = api.post("/requests", json=lawyer)
    assert same.status_code == 422
    expect(page.locator("#error-document_ref")).to_have_text(same.json()["detail"])
    expect(page.locator("span.error")).to_have_count(1)  # beside its field, and nowhere else
    expect(page.locator("textarea[name=reason]")).to_have_value("for a lawyer")  # kept
    console.shot(page, "request-form-errors")
    with unit_of_work(console.vault.app.factory, read_only=True) as session:
        li = session.execute(select(User).where(User.username == "li")).scalar_one()
        assert (
            session.execute(
                select(AccessRequest).where(AccessRequest.requester_id == li.id)
            ).first()
            is None
        )  # nothing was made


def test_a_sidecar_with_markup_is_shown_as_text(console: Console, page: Page) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    described = _item(console, "described.mp4")
    console.sign_in(page, "chen")
    page.goto(f"{console.url}/recordings/{described.id}")
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text("matter: <script>alert('sidecar')</script>")
    expect(facts).to_contain_text('location: "quoted" \\u200fright-to-left\\u202e')
    assert page.locator("main script").count() == 0
    assert dialogs == []
    assert HOSTILE_SIDECAR["matter"].startswith("<script>")
    console.shot(page, "hostile-sidecar")


def test_an_approved_export_request_downloads_its_package(
    console: Console, page: Page, tmp_path: Path
) -> None:
    patrol = _item(console, "patrol.mp4")
    console.sign_in(page, "li")
    page.goto(f"{console.url}/access/new?item={patrol.id}")
    page.select_option("select[name=purpose]", "export")
    page.fill("textarea[name=reason]", "trial bundle")
    page.click("form.request-form button[type=submit]")
    number = page.locator("h1").inner_text().split()[-1]
    _approved_by_zhao(console, number)
    page.reload()
    page.fill("input[name=recipient]", "Haidian District People's Court")
    page.fill("input[name=reason]", "trial bundle, case 2026-117")
    page.click("button:has-text('生成并下载证据包')")  # no rendition yet: the service's reason
    expect(page.locator("p.error[role=alert]")).to_contain_text("rendition is not made yet")
    assert _events(console, patrol, EventKind.EXPORTED) == []
    console.shot(page, "export-refused-no-rendition")

    render_pending(console.vault.ingest_context())
    page.fill("input[name=recipient]", "Haidian District People's Court")
    page.fill("input[name=reason]", "trial bundle, case 2026-117")
    with page.expect_download(timeout=120_000) as waiting:
        page.click("button:has-text('生成并下载证据包')")
    package = tmp_path / "package.zip"
    waiting.value.save_as(package)
    with zipfile.ZipFile(package) as bag:
        bag.extractall(tmp_path / "unpacked")
    (verifier,) = (tmp_path / "unpacked").glob("**/data/verify.py")
    checked = run_verifier(verifier.parent.parent)  # the package checks itself, as a court would
    assert checked.returncode == 0 and "VERIFIED" in checked.stdout, checked.stdout + checked.stderr
    assert [e.data["recipient"] for e in _events(console, patrol, EventKind.EXPORTED)][:1] == [
        "Haidian District People's Court"
    ]

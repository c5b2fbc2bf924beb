"""Issue 22, alerts acknowledged from the dashboard: a custodian sees the open alerts with the
recording each is about, is told beside the field that a reason is needed, then acknowledges
one with a reason; it leaves the open list, stays recorded (who, when, why) and the act is in
the administration log. Someone without the role cannot acknowledge one by a forged form."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect
from sqlalchemy import select

from custody.admin.models import AdminEvent
from tests.web.conftest import Console
from tests.web.test_access_console import _csrf_of, _sign_in_httpx
from vault.alert_models import Alert, AlertLevel
from vault.alerts import raise_alert
from vault.db import unit_of_work


def _raise(console: Console) -> tuple[str, str]:
    with unit_of_work(console.vault.app.factory) as session:
        item = console.vault.items()[0]
        missed = raise_alert(
            session, key="t-missed", kind="deadline_missed", level=AlertLevel.ERROR,
            message="recording not ingested within 24 hours",
            details={"item": str(item.id), "file": "CAM7/late.mp4", "station": "station0"},
        )  # fmt: skip
        down = raise_alert(session, key="t-down", kind="station_unreachable",
                           level=AlertLevel.WARNING, message="station0 unreachable",
                           details={"station": "station0"})  # fmt: skip
        assert missed is not None and down is not None
        return str(missed.id), str(down.id)


def _alert(console: Console, alert_id: str) -> Alert:
    with unit_of_work(console.vault.app.factory, read_only=True) as session:
        found = session.execute(select(Alert).where(Alert.key.in_(["t-missed", "t-down"])))
        alerts = {str(a.id): a for a in found.scalars()}
        session.expunge_all()
        return alerts[alert_id]


def test_a_custodian_acknowledges_an_alert_with_a_reason(console: Console, page: Page) -> None:
    missed, down = _raise(console)
    with httpx.Client(base_url=console.url) as li:  # an investigator's forged form
        _sign_in_httpx(li, "li")
        csrf = _csrf_of(li.get("/recordings").text)
        forged = li.post(f"/acknowledged-alerts/{down}", data={"csrf": csrf, "reason": "no"})
    assert forged.status_code == 403
    assert _alert(console, down).acknowledged_at is None

    console.sign_in(page, "chen")
    alerts = page.locator("ul.alerts > li")
    expect(alerts).to_have_count(2)
    missed_row = alerts.filter(has_text="deadline_missed")
    expect(missed_row.locator("a")).to_have_text("CAM7/late.mp4")  # what it is about
    console.shot(page, "alerts-open-zh")
    down_row = alerts.filter(has_text="station_unreachable")
    down_row.locator("button[type=submit]").click()  # no reason
    expect(page.locator(f"#error-{down}\\/reason")).to_have_text(
        "String should have at least 1 character"
    )
    assert _alert(console, down).acknowledged_at is None
    page.locator("ul.alerts > li", has_text="station_unreachable").locator(
        "input[name=reason]"
    ).fill("network cable replaced; station back")
    page.locator("ul.alerts > li", has_text="station_unreachable").locator(
        "button[type=submit]"
    ).click()
    expect(page.locator("ul.alerts > li")).to_have_count(1)
    expect(page.locator("ul.alerts")).not_to_contain_text("station_unreachable")
    page.click("button[value=en]")
    expect(page.locator("h2", has_text="Open alerts")).to_have_count(1)
    console.shot(page, "alerts-open-en")

    seen = _alert(console, down)
    assert (seen.acknowledged_by, seen.acknowledgement) == (
        "chen",
        "network cable replaced; station back",
    )
    assert _alert(console, missed).acknowledged_at is None
    with unit_of_work(console.vault.app.factory, read_only=True) as session:
        logged = session.execute(
            select(AdminEvent).where(AdminEvent.action == "alert_acknowledged")
        ).scalars().all()  # fmt: skip
        assert [(e.actor, e.subject) for e in logged] == [("user:chen", down)]

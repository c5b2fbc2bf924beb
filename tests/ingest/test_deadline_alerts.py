"""The 24-hour guarantee, watched: files near (20 h) and past (24 h) the deadline, and
stations out of reach, raise alerts once each, to the log, /health and a real webhook that
may be down (delivered later, never lost)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

import vault.db
from api.http.app import create_app
from ingest.daemon import check_deadline
from ingest.runner import scan_all
from tests.conftest import Vault, make_vault, put_clip, run_cli
from tests.webhook import Receiver, webhook_receiver
from vault import accounts
from vault.alert_models import Alert
from vault.db import unit_of_work
from vault.webhook import SIGNATURE_HEADER

SECRET = "hook-secret-1234"  # noqa: S105 - a test secret, checked never to be logged


class Clock:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.offset = timedelta(0)
        monkeypatch.setattr(vault.db, "clock", lambda: datetime.now(UTC) + self.offset)


@pytest.fixture
def hook() -> Iterator[Receiver]:
    with webhook_receiver() as receiver:
        yield receiver


def _vault(root: Path, hook: Receiver) -> Vault:
    return make_vault(root, alert_webhook_url=hook.url, alert_webhook_secret=SECRET)


def _seen(v: Vault, clock: Clock, clip_dir: Path, n: int, name: str, hours_ago: float) -> None:
    """A file the vault first saw ``hours_ago`` and has not ingested (scan only)."""
    put_clip(clip_dir, n, v.station_dir / "CAM1" / name)
    clock.offset = -timedelta(hours=hours_ago)
    scan_all(v.ingest_context())
    clock.offset = timedelta(0)
    scan_all(v.ingest_context())  # the daemon keeps listing the station: it is in contact


def _alerts(v: Vault) -> list[Alert]:
    with unit_of_work(v.app.factory) as session:
        rows = list(session.execute(select(Alert).order_by(Alert.key)).scalars())
        session.expunge_all()
    return rows


def _health(v: Vault) -> list[str]:
    with unit_of_work(v.app.factory) as session:
        if "lb" not in {u.username for u in accounts.list_users(session)}:
            accounts.add_user(session, username="lb", roles=["auditor"])
        token = accounts.issue_token(session, username="lb").secret
    with TestClient(create_app(v.app)) as client:
        answer = client.get("/health", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    return answer.json()["alerts"]  # type: ignore[no-any-return]


def test_deadline_alerts_reach_the_log_health_and_the_webhook_once(
    isolated_env: Path, clip_dir: Path, hook: Receiver, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    v = _vault(isolated_env, hook)
    clock = Clock(monkeypatch)
    _seen(v, clock, clip_dir, 0, "late.mp4", 25)
    _seen(v, clock, clip_dir, 1, "near.mp4", 21)
    _seen(v, clock, clip_dir, 2, "fresh.mp4", 1)

    with caplog.at_level(logging.WARNING, logger="evault.alerts"):
        assert check_deadline(v.ingest_context()) == 2
    levels = {r.getMessage(): r.levelno for r in caplog.records if r.name == "evault.alerts"}
    assert levels == {
        "station station0: CAM1/late.mp4 missed the ingest deadline"
        " (25.0 h on the station, deadline 24 h)": logging.ERROR,
        "station station0: CAM1/near.mp4 is near the ingest deadline"
        " (21.0 h on the station, deadline 24 h)": logging.WARNING,
    }
    assert SECRET not in caplog.text

    # The webhook got each alert once, signed with the shared secret.
    got = {r.document["details"]["file"]: r for r in hook.received}
    assert set(got) == {"CAM1/late.mp4", "CAM1/near.mp4"}
    assert got["CAM1/late.mp4"].document["kind"] == "ingest_deadline_missed"
    assert got["CAM1/late.mp4"].document["level"] == "error"
    assert got["CAM1/near.mp4"].document["kind"] == "ingest_deadline_near"
    for received in hook.received:
        expected = hmac.new(SECRET.encode(), received.body, hashlib.sha256).hexdigest()
        assert received.headers[SIGNATURE_HEADER] == f"sha256={expected}"
    assert all(a.webhook_sent_at is not None for a in _alerts(v))

    alerts = _health(v)
    assert "station station0: 1 file(s) waiting, past the ingest deadline" in " ".join(alerts)
    assert "station station0: 1 file(s) waiting, near the ingest deadline" in " ".join(alerts)

    # Checked again: nothing new is raised or sent.
    assert check_deadline(v.ingest_context()) == 0
    assert len(hook.received) == 2
    # Four hours on, the near file has missed it too: one new alert, sent once.
    clock.offset = timedelta(hours=4)
    scan_all(v.ingest_context())
    assert check_deadline(v.ingest_context()) == 1
    assert [r.document["kind"] for r in hook.received[2:]] == ["ingest_deadline_missed"]
    assert hook.received[2].document["details"]["file"] == "CAM1/near.mp4"
    clock.offset = timedelta(0)

    # At the terminal: every alert, and that the webhook has it.
    shown = run_cli(["alerts"], {**v.env(), "EVAULT_ALERT_WEBHOOK_URL": hook.url}, v.root)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.count("ingest_deadline_missed") == 2 and "CAM1/near.mp4" in shown.stdout
    assert shown.stdout.count("sent 20") == 3, shown.stdout

    # Once ingested, the files are no longer waiting: /health is clear of them.
    v.ingest()
    assert not [a for a in _health(v) if "ingest deadline" in a]
    v.app.engine.dispose()


def test_a_webhook_that_is_down_gets_every_alert_later(
    isolated_env: Path, clip_dir: Path, hook: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    v = _vault(isolated_env, hook)
    clock = Clock(monkeypatch)
    _seen(v, clock, clip_dir, 0, "late.mp4", 30)
    hook.failing = True
    assert check_deadline(v.ingest_context()) == 1
    assert check_deadline(v.ingest_context()) == 0
    (alert,) = _alerts(v)
    assert alert.webhook_sent_at is None and alert.webhook_attempts == 2
    assert alert.webhook_error == "HTTPError: Service Unavailable"
    assert hook.received == []

    hook.failing = False
    check_deadline(v.ingest_context())
    (alert,) = _alerts(v)
    assert alert.webhook_sent_at is not None and alert.webhook_attempts == 3
    assert [r.document["key"] for r in hook.received] == [alert.key]
    check_deadline(v.ingest_context())
    assert len(hook.received) == 1  # delivered once, not again
    v.app.engine.dispose()


def test_an_unreachable_station_raises_one_alert_per_outage(
    isolated_env: Path, clip_dir: Path, hook: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    v = _vault(isolated_env, hook)
    clock = Clock(monkeypatch)
    put_clip(clip_dir, 0, v.station_dir / "CAM1" / "one.mp4")
    v.ingest()  # the station answered: last contact now
    away = isolated_env / "unmounted"
    shutil.move(v.station_dir, away)
    clock.offset = timedelta(hours=1)
    scan_all(v.ingest_context())  # fails: the station's last error is recorded
    for _ in range(2):
        check_deadline(v.ingest_context())
    outages = [a for a in _alerts(v) if a.kind == "station_unreachable"]
    assert len(outages) == 1, outages
    assert outages[0].details["station"] == "station0"
    assert "not reached for 1.0 h" in outages[0].message
    assert [r.document["kind"] for r in hook.received] == ["station_unreachable"]

    # Back, then gone again: a second outage is a second alert.
    shutil.move(away, v.station_dir)
    scan_all(v.ingest_context())
    shutil.move(v.station_dir, away)
    clock.offset = timedelta(hours=2)
    check_deadline(v.ingest_context())
    assert len([a for a in _alerts(v) if a.kind == "station_unreachable"]) == 2
    v.app.engine.dispose()


def test_an_unreachable_webhook_is_an_error_that_names_no_secret(
    isolated_env: Path, clip_dir: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    with webhook_receiver() as gone:
        url = gone.url
    v = make_vault(isolated_env, alert_webhook_url=url + "?token=abc-secret-token",
                   alert_webhook_secret=SECRET)  # fmt: skip
    clock = Clock(monkeypatch)
    _seen(v, clock, clip_dir, 0, "late.mp4", 30)
    with caplog.at_level(logging.WARNING):
        check_deadline(v.ingest_context())
    (alert,) = _alerts(v)
    assert alert.webhook_sent_at is None and alert.webhook_attempts == 1
    assert "URLError" in (alert.webhook_error or "")
    assert "alert webhook did not accept an alert; will retry" in caplog.messages
    assert "abc-secret-token" not in caplog.text and SECRET not in caplog.text
    v.app.engine.dispose()


def test_ingest_once_raises_the_missed_deadline_alert(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cron deployments run `evault ingest --once` and no daemon: the pass itself must raise
    the deadline alerts, or a file stuck on its station would never be reported."""
    v = make_vault(isolated_env)
    clock = Clock(monkeypatch)
    stuck = v.station_dir / "CAM1" / "empty.mp4"  # zero bytes: never ingestable
    stuck.parent.mkdir(parents=True)
    stuck.touch()
    clock.offset = -timedelta(hours=25)
    scan_all(v.ingest_context())
    clock.offset = timedelta(0)

    done = run_cli(["ingest", "--once"], v.env(), v.root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 alert(s) raised" in done.stdout
    assert [(a.kind, a.details["file"]) for a in _alerts(v)] == [
        ("ingest_deadline_missed", "CAM1/empty.mp4")
    ]
    v.app.engine.dispose()

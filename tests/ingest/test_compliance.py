"""The monthly 24-hour compliance report: the rule on known dockings, month bounds in the
unit's time zone, and the report from a real vault as CSV, PDF (bilingual), CLI and HTTP."""

from __future__ import annotations

import csv
import io
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import vault.db
from api.http.app import create_app
from ingest.compliance import compliance_report
from ingest.compliance_files import write_report
from ingest.compliance_rule import Docking, month_bounds, summarise
from ingest.deadline_rule import Deadline
from ingest.runner import scan_all
from tests.conftest import Vault, make_vault, put_clip, run_cli
from vault import accounts
from vault.db import unit_of_work
from vault.documents.fonts import register_cjk_font
from vault.errors import InputRejected
from vault.moments import for_people

DAY = Deadline.of_hours(24)
T0 = datetime(2026, 6, 10, tzinfo=UTC)


def docking(station: str, device: str, docked_h: float, ingested_h: float | None,
            outcome: str = "ingested") -> Docking:  # fmt: skip
    ingested = None if ingested_h is None else T0 + timedelta(hours=ingested_h)
    return Docking(station, device, f"{device}-{docked_h}", T0 + timedelta(hours=docked_h),
                   ingested, outcome)  # fmt: skip


def test_each_recording_is_judged_once_per_station_and_device() -> None:
    now = T0 + timedelta(hours=100)
    stations, devices, exceptions = summarise(
        [
            docking("S1", "CAM1", 0, 23.9),  # in time
            docking("S1", "CAM1", 0, 24.0),  # in time: exactly the deadline
            docking("S1", "CAM2", 0, 24.1),  # late
            docking("S1", "CAM2", 10, None, "waiting"),  # 90 h waiting: overdue
            docking("S2", "CAM1", 99, None, "waiting"),  # 1 h waiting: pending, not judged
            docking("S2", "CAM3", 5, None, "vanished"),  # gone before the vault took it
            docking("S2", "CAM3", 6, None, "rejected"),  # zero bytes, long past: overdue
        ],
        deadline=DAY,
        now=now,
    )
    by_name = {r.name: r for r in stations + devices}
    s1, s2 = by_name["S1"], by_name["S2"]
    assert (s1.docked, s1.in_time, s1.late, s1.overdue, s1.pending) == (4, 2, 1, 1, 0)
    assert s1.compliance == 50.0
    assert (s2.docked, s2.pending, s2.vanished, s2.overdue, s2.judged) == (3, 1, 1, 1, 2)
    assert s2.compliance == 0.0
    cam1 = by_name["CAM1"]
    assert (cam1.docked, cam1.in_time, cam1.pending, cam1.compliance) == (3, 2, 1, 100.0)
    assert by_name["CAM2"].latencies == [24.1 * 3600]
    assert [e.verdict for e in exceptions] == ["late", "vanished", "rejected", "overdue"]
    assert [r.scope for r in stations] == ["station", "station"]


def test_nothing_judged_has_no_compliance_figure() -> None:
    (row,), _, _ = summarise([docking("S1", "CAM1", 0, None, "waiting")],
                             deadline=DAY, now=T0 + timedelta(hours=1))  # fmt: skip
    assert row.pending == 1 and row.compliance is None and row.latency(50) is None


@pytest.mark.parametrize(
    ("month", "zone", "start", "end"),
    [
        ("2026-11", "Asia/Shanghai", "2026-10-31T16:00:00+00:00", "2026-11-30T16:00:00+00:00"),
        ("2026-12", "Asia/Shanghai", "2026-11-30T16:00:00+00:00", "2026-12-31T16:00:00+00:00"),
        ("2026-02", "UTC", "2026-02-01T00:00:00+00:00", "2026-03-01T00:00:00+00:00"),
    ],
)
def test_a_month_is_the_units_month(month: str, zone: str, start: str, end: str) -> None:
    got = month_bounds(month, zone)
    assert (got[0].isoformat(), got[1].isoformat()) == (start, end)


@pytest.mark.parametrize("month", ["2026-13", "2026-1", "November", "2026-11-01", ""])
def test_a_malformed_month_is_refused(month: str) -> None:
    with pytest.raises(InputRejected, match="month must look like 2026-11"):
        month_bounds(month, "UTC")


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "Pacific/Kiritimati", "Pacific/Niue", "UTC"])
@pytest.mark.parametrize("month", ["0000-01", "0001-01", "9999-12"])
def test_a_month_at_the_ends_of_the_calendar_is_refused_in_any_zone(month: str, zone: str) -> None:
    """Found by the API's schemathesis run: 0001-01 in Asia/Shanghai starts in year 0 in UTC,
    and the report answered 500 (OverflowError) instead of refusing the month."""
    with pytest.raises(InputRejected, match="month must look like 2026-11"):
        month_bounds(month, zone)


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Pacific/Niue"])
@pytest.mark.parametrize("month", ["0002-01", "9998-12"])
def test_the_first_and_last_months_held_have_bounds_in_every_zone(month: str, zone: str) -> None:
    start, end = month_bounds(month, zone)
    assert start < end


class Clock:
    """The vault's clock at a fixed moment of June 2026 (plus real time elapsed)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, at: datetime) -> None:
        self.base = at - datetime.now(UTC)
        self.offset = timedelta(0)
        monkeypatch.setattr(vault.db, "clock", lambda: datetime.now(UTC) + self.base + self.offset)


def _docked(v: Vault, clock: Clock, hours_ago: float) -> None:
    # Written on the station before the vault's June "now", as a real station would.
    june = (vault.db.utcnow() - timedelta(hours=hours_ago + 1)).timestamp()
    for path in v.station_dir.rglob("*.mp4"):
        os.utime(path, (june, june))
    clock.offset = -timedelta(hours=hours_ago)
    scan_all(v.ingest_context())
    clock.offset = timedelta(0)


def _june_vault(root: Path, clip_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Vault:
    """station0 in June 2026 (vault clock): CAM1 two recordings in time, CAM2 one late
    (docked 30 h before its ingest), then one vanished, one overdue and one pending."""
    v = make_vault(root, display_timezone="UTC")
    clock = Clock(monkeypatch, datetime(2026, 6, 15, 12, tzinfo=UTC))
    cams = v.station_dir
    # Each file is docked between a listing that did not show it and one that did: the
    # deadline runs from the first (the report shows both), so each gets a listing just before.
    put_clip(clip_dir, 0, cams / "CAM2" / "late.mp4")
    _docked(v, clock, 30)
    _docked(v, clock, 2.1)
    put_clip(clip_dir, 1, cams / "CAM1" / "a.mp4")
    put_clip(clip_dir, 2, cams / "CAM1" / "b.mp4")
    _docked(v, clock, 2)
    v.ingest()
    gone = put_clip(clip_dir, 3, cams / "CAM2" / "gone.mp4")
    _docked(v, clock, 40)  # (the clock stepped back: no earlier bound, not a wrong one)
    gone.unlink()
    _docked(v, clock, 39)  # seen missing: vanished
    _docked(v, clock, 26.1)
    (cams / "CAM3").mkdir()
    (cams / "CAM3" / "stuck.mp4").write_bytes(b"")  # zero bytes: never ingestable
    _docked(v, clock, 26)
    _docked(v, clock, 1.1)
    (cams / "CAM3" / "new.mp4").write_bytes(b"x")
    _docked(v, clock, 1)
    return v


def test_a_file_docked_while_the_vault_was_down_is_not_called_in_time(
    isolated_env: Path, clip_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The vault lists the station, stops for 30 hours, and on restart finds a recording that
    could have docked any time in those 30 hours: it is late by the vault's own record, and
    the report shows the bound (before, first sight counted as docking: "in time")."""
    v = make_vault(isolated_env, display_timezone="UTC")
    clock = Clock(monkeypatch, datetime(2026, 6, 15, 12, tzinfo=UTC))
    clock.offset = -timedelta(hours=31)
    scan_all(v.ingest_context())  # the station is empty; then the vault stops
    put_clip(clip_dir, 0, v.station_dir / "CAM1" / "outage.mp4")
    clock.offset = timedelta(0)  # 31 hours later it is back
    v.ingest()
    (item,) = v.items()
    assert (item.docked_at - item.docked_after).total_seconds() >= 31 * 3600  # type: ignore[operator]
    with unit_of_work(v.app.factory) as session:
        report = compliance_report(session, month="2026-06", zone="UTC",
                                   deadline=DAY, now=vault.db.utcnow())  # fmt: skip
    (row,) = report.stations
    assert (row.in_time, row.late) == (0, 1)
    out = tmp_path / "report"
    out.mkdir()
    written = write_report(report, out, font=register_cjk_font(None), organisation="Unit 7")
    (late,) = _csv(written[1].read_text())
    assert (late["file"], late["verdict"]) == ("outage.mp4", "late")
    assert late["docked_after"] and late["docked_after"] < late["docked_at"]
    assert float(late["hours"]) >= 31
    # The bound, both ends, in the one form for people (issue 22).
    bound = [for_people(at, "UTC") for at in (item.docked_after, item.docked_at)]
    flat = " ".join(subprocess.run(["pdftotext", str(written[2]), "-"], capture_output=True,
                                   text=True, check=True).stdout.split())  # fmt: skip
    assert f"{bound[0]} to {bound[1]}" in flat, flat
    v.app.engine.dispose()


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_monthly_report_from_a_real_vault(
    isolated_env: Path, clip_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    v = _june_vault(isolated_env, clip_dir, monkeypatch)
    with unit_of_work(v.app.factory) as session:
        report = compliance_report(session, month="2026-06", zone="UTC",
                                   deadline=DAY, now=vault.db.utcnow())  # fmt: skip
        accounts.add_user(session, username="aud", roles=["auditor"])
        token = accounts.issue_token(session, username="aud").secret
    out = tmp_path / "report"
    out.mkdir()
    written = write_report(report, out, font=register_cjk_font(None), organisation="Unit 7")
    assert [p.name for p in written] == [
        "compliance-2026-06.csv", "compliance-2026-06-exceptions.csv", "compliance-2026-06.pdf"
    ]  # fmt: skip
    rows = {(r["scope"], r["name"]): r for r in _csv(written[0].read_text())}
    station = rows[("station", "station0")]
    assert {k: station[k] for k in ("docked", "in_time", "late", "overdue", "vanished",
                                    "pending", "compliance_percent")} == {
        "docked": "6", "in_time": "2", "late": "1", "overdue": "1", "vanished": "1",
        "pending": "1", "compliance_percent": "40.00",
    }  # fmt: skip
    assert float(station["latency_max_s"]) >= 30 * 3600
    assert rows[("device", "CAM1")]["compliance_percent"] == "100.00"
    assert (rows[("device", "CAM2")]["late"], rows[("device", "CAM2")]["vanished"]) == ("1", "1")
    assert rows[("device", "CAM3")]["overdue"] == "1"
    verdicts = {(r["file"], r["verdict"]) for r in _csv(written[1].read_text())}
    assert verdicts == {("late.mp4", "late"), ("CAM2/gone.mp4", "vanished"),
                        ("CAM3/stuck.mp4", "overdue")}  # fmt: skip

    text = subprocess.run(["pdftotext", "-layout", str(written[2]), "-"], capture_output=True,
                          text=True, check=True).stdout  # fmt: skip
    assert "执法记录仪数据24小时上传合规月报" in text and "compliance report" in text
    assert "station0" in text and "CAM3/stuck.mp4" in text and "40.00" in text

    with pytest.raises(FileExistsError, match="never overwrites"):
        write_report(report, out, font=register_cjk_font(None), organisation="Unit 7")

    # Over HTTP, the same report (same vault clock) byte for byte.
    with TestClient(create_app(v.app)) as client:
        auth = {"Authorization": f"Bearer {token}"}
        got = client.get("/sla/compliance/2026-06", headers=auth)
        assert got.status_code == 200, got.text
        assert got.headers["content-type"].startswith("text/csv")
        assert got.content == written[0].read_bytes()
        pdf = client.get("/sla/compliance/2026-06?format=pdf", headers=auth)
        assert pdf.headers["content-type"] == "application/pdf" and pdf.content[:5] == b"%PDF-"
        bad = client.get("/sla/compliance/2026-13", headers=auth)
        assert bad.status_code == 422 and "month must look like" in bad.json()["detail"]
        live = client.get("/sla", headers=auth).json()
        waiting = {w["file"]: w for w in live[0]["waiting"]}
        assert waiting["CAM3/stuck.mp4"]["overdue"] is True
        assert waiting["CAM3/new.mp4"]["overdue"] is False
    v.app.engine.dispose()


def test_the_report_at_the_terminal(
    isolated_env: Path, clip_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    v = _june_vault(isolated_env, clip_dir, monkeypatch)
    out = tmp_path / "monthly"
    env = {**v.env(), "EVAULT_DISPLAY_TIMEZONE": "UTC"}
    done = run_cli(["sla", "report", "--month", "2026-06", "--out", str(out)], env, v.root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "station station0: 6 docked, 2 in time, 1 late" in done.stdout
    assert sorted(p.name for p in out.iterdir()) == [
        "compliance-2026-06-exceptions.csv", "compliance-2026-06.csv", "compliance-2026-06.pdf"
    ]  # fmt: skip
    again = run_cli(["sla", "report", "--month", "2026-06", "--out", str(out)], env, v.root)
    assert again.returncode == 3 and "never overwrites" in again.stderr
    bad = run_cli(["sla", "report", "--month", "June"], env, v.root)
    assert bad.returncode == 2 and "month must look like 2026-11" in bad.stderr
    v.app.engine.dispose()

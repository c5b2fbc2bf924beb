"""GET /metrics in the Prometheus text format, from the database, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from custody.admin.acts import acknowledge_alert
from ingest.daemon import check_deadline
from ingest.models import StationFile
from ingest.runner import scan_all
from tests.api.conftest import Api
from tests.conftest import put_clip
from vault import accounts
from vault.alerts import recent_alerts
from vault.db import unit_of_work, utcnow


def scrape(api: Api) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = api.client.get("/metrics", headers=api.as_role("custodian"))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def test_metrics_count_ingest_latency_waiting_files_and_alerts(api: Api, clip_dir: Path) -> None:
    (item,) = api.vault.items()
    station = (("station", "station0"),)
    metrics = scrape(api)
    assert metrics[("evault_ingested_files_total", station)] == 1
    assert metrics[("evault_ingested_bytes_total", station)] == item.size
    assert metrics[("evault_ingest_latency_seconds_count", ())] == 1
    latency = (item.ingested_at - item.docked_at).total_seconds()
    assert abs(metrics[("evault_ingest_latency_seconds_sum", ())] - latency) < 1
    assert metrics[("evault_ingest_latency_seconds_bucket", (("le", "+Inf"),))] == 1
    assert metrics[("evault_alerts", (("kind", "ingest_overdue"),))] == 0

    put_clip(clip_dir, 1, api.vault.station_dir / "CAM2" / "fresh.mp4")
    put_clip(clip_dir, 2, api.vault.station_dir / "CAM2" / "stuck.mp4")
    scan_all(api.vault.ingest_context())  # seen once: waiting
    with unit_of_work(api.vault.app.factory) as session:
        session.execute(
            update(StationFile)
            .where(StationFile.rel_path == "CAM2/stuck.mp4")
            .values(first_seen_at=utcnow() - timedelta(hours=25), docked_after=None)
        )
    metrics = scrape(api)
    assert metrics[("evault_station_files_waiting", (("age", "<1h"), *station))] == 1
    assert metrics[("evault_station_files_waiting", (("age", "24h+"), *station))] == 1
    assert metrics[("evault_alerts", (("kind", "ingest_overdue"),))] == 1
    assert metrics[("evault_alerts", (("kind", "fixity"),))] == 0
    check_deadline(api.vault.ingest_context())  # raises the stuck file's alert, once
    check_deadline(api.vault.ingest_context())
    raised = scrape(api)
    assert raised[("evault_alerts_raised_total", (("kind", "ingest_deadline_missed"),))] == 1
    missed = (("kind", "ingest_deadline_missed"),)
    assert raised[("evault_alerts_open", missed)] == 1
    with unit_of_work(api.vault.app.factory) as session:
        custodian = accounts.add_user(session, username="ma", roles=["custodian"])
        (alert,) = recent_alerts(session, open_only=True)
        acknowledge_alert(session, user=custodian, ref=str(alert.id), reason="file recovered")
    after = scrape(api)
    assert after[("evault_alerts_raised_total", missed)] == 1  # raised stays raised
    assert ("evault_alerts_open", missed) not in after  # no longer open

"""Prometheus metrics, read from the database at each scrape.

The vault runs as several processes (API workers, ingest daemons on other hosts), so
in-process counters would each see a part; the database sees everything. Each scrape costs
a handful of aggregate queries.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import ColumnElement, SQLColumnExpression, case, func, select
from sqlalchemy.orm import Session

from custody.fixity.checks import fixity_alerts
from custody.fixity.models import FixityState
from ingest.deadline import STILL_WAITING, counted_from
from ingest.deadline_rule import Deadline
from ingest.health import unreachable_stations
from ingest.models import StationFile
from vault.alert_models import Alert
from vault.models import EvidenceItem, Rendition, ScanStatus, Station

# Seconds from docking to ingest; the 24-hour guarantee sits between the last two finite ones.
LATENCY_BUCKETS = (10, 60, 300, 900, 3600, 4 * 3600, 20 * 3600, 24 * 3600)
# Ages of files still waiting on a station, in hours: the alerts fire at 20 h and 24 h.


def _seconds(
    start: SQLColumnExpression[datetime], end: SQLColumnExpression[datetime]
) -> ColumnElement[float]:
    """end - start in seconds, in SQLite's SQL."""
    return (func.julianday(end) - func.julianday(start)) * 86400


class VaultCollector(Collector):
    def __init__(
        self, session: Session, *, now: datetime, deadline: Deadline, station_after: float
    ) -> None:
        self.session, self.now, self.deadline = session, now, deadline
        self.station_after = station_after  # minutes

    def collect(self) -> Iterator[Metric]:
        yield from self._ingest()
        yield from self._waiting()
        yield from self._copies()

    def _ingest(self) -> Iterator[Metric]:
        files = CounterMetricFamily(
            "evault_ingested_files", "Recordings ingested", labels=["station"]
        )
        size = CounterMetricFamily("evault_ingested_bytes", "Bytes ingested", labels=["station"])
        for station, count, total in self.session.execute(
            select(
                Station.name,
                func.count(EvidenceItem.id),
                func.coalesce(func.sum(EvidenceItem.size), 0),
            )
            .join(EvidenceItem, EvidenceItem.station_id == Station.id, isouter=True)
            .group_by(Station.name)
        ):
            files.add_metric([station], count)
            size.add_metric([station], int(total))
        yield files
        yield size
        yield self._latency()

    def _latency(self) -> Metric:
        latency = EvidenceItem.ingested_at - EvidenceItem.docked_at
        dialect = self.session.get_bind().dialect.name
        seconds: ColumnElement[Any] = (
            func.extract("epoch", latency)
            if dialect == "postgresql"
            else _seconds(EvidenceItem.docked_at, EvidenceItem.ingested_at)
        )
        columns = [func.sum(case((seconds <= bound, 1), else_=0)) for bound in LATENCY_BUCKETS]
        row = self.session.execute(
            select(func.count(), func.coalesce(func.sum(seconds), 0), *columns)
        ).one()
        count, total, cumulative = int(row[0]), float(row[1]), [int(c or 0) for c in row[2:]]
        buckets = [(str(float(b)), n) for b, n in zip(LATENCY_BUCKETS, cumulative, strict=True)]
        histogram = HistogramMetricFamily(
            "evault_ingest_latency_seconds", "Docked-at to ingested-at, per recording"
        )
        histogram.add_metric([], [*buckets, ("+Inf", count)], sum_value=total)
        return histogram

    def _waiting(self) -> Iterator[Metric]:
        waiting = GaugeMetricFamily(
            "evault_station_files_waiting", "Files on stations not yet ingested, by age",
            labels=["station", "age"],
        )  # fmt: skip
        rows = self.session.execute(
            select(Station.name, counted_from)
            .join(Station, Station.id == StationFile.station_id)
            .where(StationFile.state.in_(STILL_WAITING))
        ).all()
        counts: dict[tuple[str, str], int] = {}
        for station, first_seen in rows:
            label = self.deadline.band(self.now - first_seen)
            counts[(station, label)] = counts.get((station, label), 0) + 1
        for (station, label), count in sorted(counts.items()):
            waiting.add_metric([station, label], count)
        yield waiting
        overdue = sum(1 for _, first_seen in rows if self.deadline.missed(self.now - first_seen))
        alerts = GaugeMetricFamily(
            "evault_alerts", "Open alerts (files past the deadline, copies failing fixity)",
            labels=["kind"],
        )  # fmt: skip
        alerts.add_metric(["ingest_overdue"], overdue)
        alerts.add_metric(["fixity"], len(fixity_alerts(self.session)))
        infected = self.session.scalar(
            select(func.count())
            .select_from(EvidenceItem)
            .where(
                EvidenceItem.scan_status == ScanStatus.INFECTED,
                EvidenceItem.scan_released_by.is_(None),
            )
        )
        alerts.add_metric(["infected"], infected or 0)
        after = timedelta(minutes=self.station_after)
        unreachable = unreachable_stations(self.session, now=self.now, after=after)
        alerts.add_metric(["station_unreachable"], len(unreachable))
        yield alerts
        scans = GaugeMetricFamily(
            "evault_items_by_virus_scan", "Recordings by virus-check verdict", labels=["status"]
        )
        for status, count in self.session.execute(
            select(EvidenceItem.scan_status, func.count()).group_by(EvidenceItem.scan_status)
        ):
            scans.add_metric([str(getattr(status, "value", status))], count)
        yield scans
        raised = CounterMetricFamily(
            "evault_alerts_raised", "Alerts raised, by kind (each once)", labels=["kind"]
        )
        for kind, count in self.session.execute(
            select(Alert.kind, func.count()).group_by(Alert.kind)
        ):
            raised.add_metric([kind], count)
        yield raised
        still_open = GaugeMetricFamily(
            "evault_alerts_open", "Alerts nobody has acknowledged yet, by kind", labels=["kind"]
        )
        for kind, count in self.session.execute(
            select(Alert.kind, func.count())
            .where(Alert.acknowledged_at.is_(None))
            .group_by(Alert.kind)
        ):
            still_open.add_metric([kind], count)
        yield still_open

    def _copies(self) -> Iterator[Metric]:
        fixity = GaugeMetricFamily(
            "evault_fixity_copies", "Stored copies by their last fixity result", labels=["status"]
        )
        for status, count in self.session.execute(
            select(FixityState.status, func.count()).group_by(FixityState.status)
        ):
            fixity.add_metric([str(status)], count)
        yield fixity
        renditions = GaugeMetricFamily(
            "evault_renditions", "Renditions by state", labels=["status"]
        )
        for status, count in self.session.execute(
            select(Rendition.status, func.count()).group_by(Rendition.status)
        ):
            renditions.add_metric([str(getattr(status, "value", status))], count)
        yield renditions


def render_metrics(
    session: Session, *, now: datetime, deadline: Deadline, station_after: float
) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(
        VaultCollector(session, now=now, deadline=deadline, station_after=station_after)
    )
    return generate_latest(registry)

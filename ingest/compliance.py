"""The monthly 24-hour compliance report: for every recording docked in a month, whether it
reached the vault within the deadline, per station and per device. The summary is a pure
function of the dockings; the query that gathers them is below it."""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.models import FileState, StationFile
from vault.errors import InputRejected
from vault.models import Device, EvidenceItem, Station

UNKNOWN_DEVICE = "(unknown)"
NOT_INGESTED = {
    FileState.WAITING: "waiting",
    FileState.INGESTING: "waiting",
    FileState.REJECTED: "rejected",
    FileState.VANISHED: "vanished",
}


@dataclass(frozen=True)
class Docking:
    """One recording docked on a station: ingested (``ingested_at`` set) or not (yet)."""

    station: str
    device: str
    name: str
    docked_at: datetime
    ingested_at: datetime | None
    outcome: str  # ingested | waiting | rejected | vanished
    item: str | None = None


@dataclass
class ComplianceRow:
    scope: str  # station | device
    name: str
    docked: int = 0
    in_time: int = 0
    late: int = 0
    overdue: int = 0  # not ingested, and past the deadline when the report was made
    pending: int = 0  # not ingested, still within the deadline: not yet judged
    vanished: int = 0  # gone from the station before the vault could take it
    latencies: list[float] = field(default_factory=list, repr=False)

    @property
    def judged(self) -> int:
        return self.docked - self.pending

    @property
    def compliance(self) -> float | None:
        """Share of judged recordings that reached the vault in time, in percent."""
        return 100.0 * self.in_time / self.judged if self.judged else None

    def latency(self, quantile: int) -> float | None:
        if not self.latencies:
            return None
        if len(self.latencies) == 1:
            return self.latencies[0]
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[quantile - 1]


@dataclass(frozen=True)
class Exception_:
    docking: Docking
    verdict: str  # late | overdue | vanished | rejected


@dataclass(frozen=True)
class ComplianceReport:
    month: str
    timezone: str
    start: datetime
    end: datetime
    made_at: datetime
    deadline: timedelta
    stations: list[ComplianceRow]
    devices: list[ComplianceRow]
    exceptions: list[Exception_]


def month_bounds(month: str, zone: str) -> tuple[datetime, datetime]:
    """The month ``YYYY-MM`` in the unit's time zone, as UTC instants [start, end)."""
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        raise InputRejected(f"month must look like 2026-11, not {month!r}")
    year, number = int(month[:4]), int(month[5:])
    tz = ZoneInfo(zone)
    start = datetime(year, number, 1, tzinfo=tz)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def _verdict(d: Docking, *, deadline: timedelta, now: datetime) -> str:
    if d.ingested_at is not None:
        return "in_time" if d.ingested_at - d.docked_at <= deadline else "late"
    if d.outcome == "vanished":
        return "vanished"
    if now - d.docked_at <= deadline:
        return "pending"
    return "rejected" if d.outcome == "rejected" else "overdue"


def summarise(
    dockings: Iterable[Docking], *, deadline: timedelta, now: datetime
) -> tuple[list[ComplianceRow], list[ComplianceRow], list[Exception_]]:
    stations: dict[str, ComplianceRow] = {}
    devices: dict[str, ComplianceRow] = {}
    exceptions = []
    for d in sorted(dockings, key=lambda d: (d.docked_at, d.station, d.name)):
        verdict = _verdict(d, deadline=deadline, now=now)
        for row in (
            stations.setdefault(d.station, ComplianceRow("station", d.station)),
            devices.setdefault(d.device, ComplianceRow("device", d.device)),
        ):
            row.docked += 1
            if verdict in ("in_time", "late"):
                assert d.ingested_at is not None
                row.latencies.append((d.ingested_at - d.docked_at).total_seconds())
            if verdict == "in_time":
                row.in_time += 1
            elif verdict == "late":
                row.late += 1
            elif verdict == "pending":
                row.pending += 1
            elif verdict == "vanished":
                row.vanished += 1
            else:  # overdue, or rejected and never ingested within the deadline
                row.overdue += 1
        if verdict not in ("in_time", "pending"):
            exceptions.append(Exception_(d, verdict))
    return (
        [stations[k] for k in sorted(stations)],
        [devices[k] for k in sorted(devices)],
        exceptions,
    )


def _device_of(rel_path: str) -> str:
    # Not ingested, so not described yet: stations keep each camera's files in a folder
    # named after it; a file at the top level has no device the vault can name.
    head, sep, _ = rel_path.partition("/")
    return head if sep else UNKNOWN_DEVICE


def dockings_between(session: Session, start: datetime, end: datetime) -> list[Docking]:
    found = [
        Docking(
            station,
            serial or UNKNOWN_DEVICE,
            item.original_name,
            item.docked_at,
            item.ingested_at,
            "ingested",
            str(item.id),
        )
        for item, station, serial in session.execute(
            select(EvidenceItem, Station.name, Device.serial)
            .join(Station, Station.id == EvidenceItem.station_id)
            .outerjoin(Device, Device.id == EvidenceItem.device_id)
            .where(EvidenceItem.docked_at >= start, EvidenceItem.docked_at < end)
        ).all()
    ]
    for row, station in session.execute(
        select(StationFile, Station.name)
        .join(Station, Station.id == StationFile.station_id)
        .where(
            StationFile.state.in_(NOT_INGESTED),
            StationFile.first_seen_at >= start,
            StationFile.first_seen_at < end,
        )
    ).all():
        found.append(Docking(station, _device_of(row.rel_path), row.rel_path, row.first_seen_at,
                             None, NOT_INGESTED[row.state]))  # fmt: skip
    return found


def compliance_report(
    session: Session, *, month: str, zone: str, deadline: timedelta, now: datetime
) -> ComplianceReport:
    start, end = month_bounds(month, zone)
    stations, devices, exceptions = summarise(
        dockings_between(session, start, end), deadline=deadline, now=now
    )
    return ComplianceReport(month, zone, start, end, now, deadline, stations, devices, exceptions)

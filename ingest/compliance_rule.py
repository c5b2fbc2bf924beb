"""The monthly 24-hour compliance rule: for every recording docked in a month, whether it
reached the vault within the deadline, per station and per device. Pure: the query that
gathers the dockings is ingest.compliance."""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from ingest.deadline_rule import Deadline
from vault.errors import InputRejected

UNKNOWN_DEVICE = "(unknown)"


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
    # The earlier bound: the station's last listing before the first sighting (docked_at).
    docked_after: datetime | None = None

    @property
    def counted_from(self) -> datetime:
        """The deadline runs from the earliest moment the vault cannot rule out: a recording
        that may have waited through an outage is not called in time."""
        return self.docked_after or self.docked_at


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
    deadline: Deadline
    stations: list[ComplianceRow]
    devices: list[ComplianceRow]
    exceptions: list[Exception_]


# ASCII digits only; years 0002-9998: a month of year 0 or 9999 has no end a datetime can hold,
# and January of year 1 in a zone east of UTC starts before the first instant it can hold.
MONTH_PATTERN = r"^(?!0000|0001|9999)[0-9]{4}-(0[1-9]|1[0-2])$"


def month_bounds(month: str, zone: str) -> tuple[datetime, datetime]:
    """The month ``YYYY-MM`` in the unit's time zone, as UTC instants [start, end)."""
    if not re.fullmatch(MONTH_PATTERN, month):
        raise InputRejected(f"month must look like 2026-11, not {month!r}")
    year, number = int(month[:4]), int(month[5:])
    tz = ZoneInfo(zone)
    start = datetime(year, number, 1, tzinfo=tz)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def _verdict(d: Docking, *, deadline: Deadline, now: datetime) -> str:
    if d.ingested_at is not None:
        return "in_time" if deadline.in_time(d.ingested_at - d.counted_from) else "late"
    if d.outcome == "vanished":
        return "vanished"
    if deadline.in_time(now - d.counted_from):
        return "pending"
    return "rejected" if d.outcome == "rejected" else "overdue"


def summarise(
    dockings: Iterable[Docking], *, deadline: Deadline, now: datetime
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
                row.latencies.append((d.ingested_at - d.counted_from).total_seconds())
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

"""The 24-hour guarantee: what is waiting, what was late, how long ingest takes."""

from __future__ import annotations

import statistics
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.deadline import STILL_WAITING
from ingest.deadline_rule import Deadline
from ingest.models import FileState, StationFile
from vault.models import EvidenceItem, Station

# Still on the station: waiting (STILL_WAITING) or safe and awaiting its acknowledgement.
OPEN_STATES = (*STILL_WAITING, FileState.INGESTED)


@dataclass(frozen=True)
class WaitingFile:
    rel_path: str
    state: str
    size: int
    age: timedelta
    overdue: bool
    last_error: str | None


@dataclass(frozen=True)
class LateItem:
    item_id: str
    name: str
    latency: timedelta


@dataclass(frozen=True)
class Latency:
    count: int
    p50: timedelta | None = None
    p90: timedelta | None = None
    p99: timedelta | None = None
    max: timedelta | None = None


@dataclass
class StationSla:
    station: str
    waiting: list[WaitingFile] = field(default_factory=list)
    late: list[LateItem] = field(default_factory=list)
    latency: Latency = field(default_factory=lambda: Latency(0))

    @property
    def overdue(self) -> list[WaitingFile]:
        return [w for w in self.waiting if w.overdue]


def _latency(samples: list[timedelta]) -> Latency:
    if not samples:
        return Latency(0)
    seconds = sorted(s.total_seconds() for s in samples)
    if len(seconds) == 1:
        p50 = p90 = p99 = seconds[0]
    else:
        cuts = statistics.quantiles(seconds, n=100, method="inclusive")
        p50, p90, p99 = cuts[49], cuts[89], cuts[98]
    return Latency(
        len(seconds),
        timedelta(seconds=p50),
        timedelta(seconds=p90),
        timedelta(seconds=p99),
        timedelta(seconds=seconds[-1]),
    )


def waiting_files(
    session: Session, *, deadline: Deadline, now: datetime
) -> dict[uuid.UUID, list[WaitingFile]]:
    """Each station's files not yet archived, oldest first (what the dashboard shows; no
    pass over the items, which sla_report's latency figures need)."""
    waiting: dict[uuid.UUID, list[WaitingFile]] = {}
    for row in session.execute(
        select(StationFile)
        .where(StationFile.state.in_(OPEN_STATES))
        .order_by(StationFile.first_seen_at)
    ).scalars():
        age = now - row.counted_from
        # An ingested file still on the station is safe; it is not waiting on the guarantee.
        overdue = deadline.missed(age) and row.state in STILL_WAITING
        waiting.setdefault(row.station_id, []).append(
            WaitingFile(row.rel_path, row.state.value, row.size, age, overdue, row.last_error)
        )
    return waiting


def sla_report(session: Session, *, deadline: Deadline, now: datetime) -> list[StationSla]:
    report = {
        s.id: StationSla(s.name)
        for s in session.execute(select(Station).order_by(Station.name)).scalars()
    }
    for station_id, files in waiting_files(session, deadline=deadline, now=now).items():
        report[station_id].waiting.extend(files)
    samples: dict[uuid.UUID, list[timedelta]] = {}
    for item in session.execute(select(EvidenceItem)).scalars():
        latency = item.ingested_at - (item.docked_after or item.docked_at)
        samples.setdefault(item.station_id, []).append(latency)
        if not deadline.in_time(latency):
            report[item.station_id].late.append(LateItem(str(item.id), item.original_name, latency))
    for station_id, values in samples.items():
        report[station_id].latency = _latency(values)
    return list(report.values())

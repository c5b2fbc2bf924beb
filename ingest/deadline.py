"""The 24-hour guarantee, watched: a file still on its station at the warning age (20 h by
default) raises a warning, at the deadline (24 h) an error; an unreachable station raises one
alert per outage. Alerts are rows (vault.alerts), delivered to the webhook afterwards."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from config.settings import Settings
from ingest.deadline_rule import Deadline, Stage
from ingest.health import unreachable
from ingest.models import FileState, StationFile
from vault.alert_models import AlertLevel
from vault.alerts import raise_alert
from vault.models import Station

# A file in these states is still only on its station (INGESTED is safe, awaiting its
# acknowledgement; VANISHED and ACKNOWLEDGED are gone from it).
STILL_WAITING = (FileState.WAITING, FileState.INGESTING, FileState.REJECTED)
# The deadline runs from the earliest moment a file may have docked (see StationFile).
counted_from = func.coalesce(StationFile.docked_after, StationFile.first_seen_at)


def deadline_of(settings: Settings) -> Deadline:
    """The configured deadline (ingest_deadline_hours, ingest_warning_hours)."""
    return Deadline(settings.ingest_deadline, settings.ingest_warning)


@dataclass(frozen=True)
class StageWording:
    level: AlertLevel
    what: str  # of one file
    state: str  # of files waiting


WORDING = {
    Stage.NEAR: StageWording(AlertLevel.WARNING, "is near the ingest deadline",
                             "near the ingest deadline"),
    Stage.MISSED: StageWording(AlertLevel.ERROR, "missed the ingest deadline",
                               "past the ingest deadline"),
}  # fmt: skip


def raise_deadline_alerts(session: Session, *, now: datetime, deadline: Deadline) -> int:
    """One alert per file and stage; returns how many were raised now."""
    rows = session.execute(
        select(StationFile, Station.name)
        .join(Station, Station.id == StationFile.station_id)
        .where(
            StationFile.state.in_(STILL_WAITING),
            counted_from <= now - deadline.warning,
        )
        .order_by(StationFile.first_seen_at)
    ).all()
    raised = 0
    for row, station in rows:
        age = now - row.counted_from
        stage = deadline.stage(age)
        if stage is None:
            continue
        hours = round(age.total_seconds() / 3600, 1)
        alert = raise_alert(
            session,
            key=f"{stage.value}:{row.id}",
            kind=stage.value,
            level=WORDING[stage].level,
            message=f"station {station}: {row.rel_path} {WORDING[stage].what}"
            f" ({hours} h on the station, deadline {deadline.hours:g} h)",
            details={
                "station": station,
                "file": row.rel_path,
                "state": row.state.value,
                "docked_at": row.first_seen_at.isoformat(),
                "docked_after": row.docked_after.isoformat() if row.docked_after else None,
                "age_hours": hours,
                "deadline_hours": deadline.hours,
                "last_error": row.last_error,
            },
            at=now,
        )
        raised += alert is not None
    return raised


def raise_station_alerts(session: Session, *, now: datetime, after: timedelta) -> int:
    """One alert per outage: keyed by the station and its last contact."""
    raised = 0
    for station, message in unreachable(session, now=now, after=after):
        since = (station.last_contact_at or station.registered_at).isoformat()
        alert = raise_alert(
            session, key=f"station_unreachable:{station.name}:{since}",
            kind="station_unreachable", level=AlertLevel.ERROR, message=message,
            details={"station": station.name, "since": since, "last_error": station.last_error},
            at=now,
        )  # fmt: skip
        raised += alert is not None
    return raised


def waiting_summary(session: Session, *, now: datetime, deadline: Deadline) -> list[str]:
    """For /health: per station, how many files are near or past the deadline right now."""
    counts: dict[tuple[str, Stage], list[timedelta]] = {}
    for first_seen, station in session.execute(
        select(counted_from, Station.name)
        .join(Station, Station.id == StationFile.station_id)
        .where(
            StationFile.state.in_(STILL_WAITING),
            counted_from <= now - deadline.warning,
        )
    ).all():
        stage = deadline.stage(now - first_seen)
        if stage is not None:
            counts.setdefault((station, stage), []).append(now - first_seen)
    lines = []
    for (station, stage), ages in sorted(counts.items(), key=lambda kv: (kv[0][0], kv[0][1].value)):
        oldest = max(ages).total_seconds() / 3600
        lines.append(
            f"station {station}: {len(ages)} file(s) waiting, {WORDING[stage].state}"
            f" (oldest {oldest:.1f} h; deadline {deadline.hours:g} h)"
        )
    return lines

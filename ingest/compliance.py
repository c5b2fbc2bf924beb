"""The monthly 24-hour compliance report: the dockings of a month gathered from the vault's
records and judged by the pure rule (ingest.compliance_rule)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.compliance_rule import (
    UNKNOWN_DEVICE,
    ComplianceReport,
    Docking,
    month_bounds,
    summarise,
)
from ingest.deadline_rule import Deadline
from ingest.models import FileState, StationFile
from vault.models import Device, EvidenceItem, Station

NOT_INGESTED = {
    FileState.WAITING: "waiting",
    FileState.INGESTING: "waiting",
    FileState.REJECTED: "rejected",
    FileState.VANISHED: "vanished",
}


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
            item.docked_after,
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
                             None, NOT_INGESTED[row.state], None, row.docked_after))  # fmt: skip
    return found


def compliance_report(
    session: Session, *, month: str, zone: str, deadline: Deadline, now: datetime
) -> ComplianceReport:
    start, end = month_bounds(month, zone)
    stations, devices, exceptions = summarise(
        dockings_between(session, start, end), deadline=deadline, now=now
    )
    return ComplianceReport(month, zone, start, end, now, deadline, stations, devices, exceptions)

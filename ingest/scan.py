"""Record what a scan saw on a station; decide which files are ready. Flushes only."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from config.settings import Settings, StationConfig
from ingest.models import FileState, StationFile
from ingest.naming import display_name
from ingest.stability import Seen, is_stable
from ingest.stations.base import Listing
from vault.models import Station

log = logging.getLogger(__name__)

ZERO_BYTE_REASON = "zero-byte file: nothing to preserve; left on the station for the custodian"
TEMPORARY_REASON = "temporary name: waiting for the writer to finish and rename it"


@dataclass
class ScanSummary:
    station: str
    listed: int = 0
    new: int = 0
    ready: int = 0
    rejected: int = 0
    vanished: int = 0


def sync_stations(session: Session, settings: Settings) -> dict[str, Station]:
    """Make sure every configured station has its row; returns them by name."""
    existing = {s.name: s for s in session.execute(select(Station)).scalars()}
    for config in settings.stations:
        row = existing.get(config.name)
        if row is None:
            row = register_station(session, config)
            existing[config.name] = row
        elif row.location != config.location:
            row.location = config.location
    session.flush()
    return existing


def register_station(session: Session, config: StationConfig) -> Station:
    try:
        with session.begin_nested():
            row = Station(name=config.name, kind=config.kind, location=config.location)
            session.add(row)
    except IntegrityError:  # several daemons starting at once: another registered it
        return session.execute(select(Station).where(Station.name == config.name)).scalar_one()
    return row


def docked_after(listed_before: datetime | None, now: datetime) -> datetime | None:
    """The earlier bound of a file first seen now: the station's previous listing (a vault or
    station outage makes it long ago). A clock stepped back gives no bound, not a wrong one."""
    return listed_before if listed_before is not None and listed_before < now else None


def _reset(row: StationFile, listing: Listing, now: datetime, after: datetime | None) -> None:
    row.size, row.mtime_ns = listing.size, listing.mtime_ns
    row.first_seen_at = row.unchanged_since = now
    row.docked_after = after
    row.state, row.stable = FileState.WAITING, False
    row.item_id, row.ingested_at, row.last_error = None, None, None
    row.attempts = 0


def _observe(
    row: StationFile,
    listing: Listing,
    now: datetime,
    settle: timedelta,
    summary: ScanSummary,
    *,
    after: datetime | None,
) -> None:
    previous = Seen(row.size, row.mtime_ns)
    current = Seen(listing.size, listing.mtime_ns)
    row.last_seen_at = now
    if row.state in (FileState.ACKNOWLEDGED, FileState.VANISHED):
        if row.state == FileState.VANISHED or previous != current:
            _reset(row, listing, now, after)  # a new file under an old name, or one back
            summary.new += 1
        return
    if row.state not in (FileState.WAITING, FileState.REJECTED):
        return  # a worker owns it
    if previous != current:
        row.size, row.mtime_ns = current.size, current.mtime_ns
        row.unchanged_since = now
        row.stable, row.state = False, FileState.WAITING
        row.last_error = TEMPORARY_REASON if listing.temporary else None
        return
    if row.unchanged_since is None:  # a row from before the vault kept this
        row.unchanged_since = now
    if listing.temporary or not is_stable(
        previous=previous, current=current, unchanged_since=row.unchanged_since, now=now,
        settle=settle,
    ):  # fmt: skip
        return
    if current.size == 0:
        if row.state != FileState.REJECTED:
            log.warning(
                "station file rejected",
                extra={
                    "station": summary.station,
                    "file": row.rel_path,
                    "reason": ZERO_BYTE_REASON,
                },
            )
        row.state, row.stable, row.last_error = FileState.REJECTED, False, ZERO_BYTE_REASON
        summary.rejected += 1
        return
    row.stable = True
    summary.ready += 1


def record_scan(
    session: Session,
    *,
    station: Station,
    listings: list[Listing],
    now: datetime,
    settle: timedelta,
    listed_before: datetime | None = None,
) -> ScanSummary:
    """Record one listing of the station taken at ``now``; ``listed_before`` is when it was
    last listed before, the earlier bound of every file this listing shows for the first
    time."""
    # Scans of one station by several daemons take turns on the station's row, so two of
    # them never both insert the same new file. NO KEY UPDATE (key_share): inserting an item
    # takes a key-share lock on its station, and a full FOR UPDATE here would deadlock
    # with an ingest that holds a file row this scan is about to touch.
    session.execute(
        select(Station.id).where(Station.id == station.id).with_for_update(key_share=True)
    ).one()
    summary = ScanSummary(station=station.name, listed=len(listings))
    rows = {
        bytes(r.rel_path_raw): r
        for r in session.execute(
            select(StationFile).where(StationFile.station_id == station.id)
        ).scalars()
    }
    for listing in listings:
        row = rows.pop(listing.rel_path, None)
        if row is None:
            session.add(
                StationFile(
                    station_id=station.id,
                    rel_path_raw=listing.rel_path,
                    rel_path=display_name(listing.rel_path),
                    size=listing.size,
                    mtime_ns=listing.mtime_ns,
                    first_seen_at=now,
                    docked_after=docked_after(listed_before, now),
                    last_seen_at=now,
                    unchanged_since=now,
                    state=FileState.WAITING,
                    stable=False,
                    attempts=0,
                    last_error=TEMPORARY_REASON if listing.temporary else None,
                )
            )
            summary.new += 1
        else:
            _observe(row, listing, now, settle, summary, after=docked_after(listed_before, now))
    for gone in rows.values():
        if gone.last_error == TEMPORARY_REASON and gone.state == FileState.WAITING:
            session.delete(gone)  # renamed to its final name: that name is its own row
        elif gone.state in (FileState.WAITING, FileState.REJECTED):
            gone.state, gone.stable = FileState.VANISHED, False
            summary.vanished += 1
            log.warning(
                "station file vanished before it was ingested",
                extra={"station": station.name, "file": gone.rel_path},
            )
        elif gone.state == FileState.INGESTED:
            gone.state = FileState.ACKNOWLEDGED  # removed on the station after it was safe
    session.flush()
    return summary

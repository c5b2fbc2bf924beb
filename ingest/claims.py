"""Which worker ingests which file. Row locks with SKIP LOCKED, never a home-made coordinator."""

from __future__ import annotations

import os
import secrets
import socket
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ingest.models import FileState, StationFile

# A claim by a process on another host is trusted this long before another worker may
# take the file over; on this host a dead claimer is noticed at once.
CLAIM_LEASE = timedelta(hours=2)


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def claimer_is_dead(claimed_by: str | None) -> bool:
    if not claimed_by:
        return True
    host, _, rest = claimed_by.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _transfers_under_way(session: Session, station_id: uuid.UUID) -> int:
    """Files of the station being copied now, by any worker of any process. On PostgreSQL a
    transaction-scoped advisory lock per station makes count-then-claim atomic across
    processes (SQLite's BEGIN IMMEDIATE already serialises every claim)."""
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(station_id.bytes[:8], "big", signed=True)
        session.execute(select(func.pg_advisory_xact_lock(key)))
    return session.execute(
        select(func.count())
        .select_from(StationFile)
        .where(StationFile.station_id == station_id, StationFile.state == FileState.INGESTING)
    ).scalar_one()


def _station_full(
    session: Session, station_id: uuid.UUID, limits: Mapping[uuid.UUID, int], full: set[uuid.UUID]
) -> bool:
    if station_id in full:
        return True
    if station_id not in limits:
        return False
    if _transfers_under_way(session, station_id) >= limits[station_id]:
        full.add(station_id)
        return True
    return False


def claim_next(
    session: Session,
    *,
    worker: str,
    now: datetime,
    retry_pause: timedelta = timedelta(0),
    station_limits: Mapping[uuid.UUID, int] | None = None,
) -> StationFile | None:
    """Claim one ready file (or one whose claimer died); flushes the claim. A file released
    after a failed attempt waits ``retry_pause`` before the next: a station that is down or
    a full store is not hammered in a tight loop. A station at its limit of concurrent
    transfers (``station_limits``) gets no new claim until one of them ends."""
    limits = station_limits or {}
    full: set[uuid.UUID] = set()
    claimable = or_(
        (StationFile.state == FileState.WAITING) & StationFile.stable.is_(True),
        StationFile.state == FileState.INGESTING,
    )
    # Candidates are read without locks and then locked one at a time (SKIP LOCKED): a claim
    # holds only the row it takes, so concurrent claimers never hide files from each other.
    candidate_ids = (
        session.execute(
            select(StationFile.id).where(claimable).order_by(StationFile.first_seen_at).limit(50)
        )
        .scalars()
        .all()
    )
    for file_id in candidate_ids:
        row = session.execute(
            select(StationFile)
            .where(StationFile.id == file_id, claimable)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        ).scalar_one_or_none()
        if row is None:  # taken (or being taken) by another worker since it was listed
            continue
        if row.state == FileState.INGESTING:
            # A takeover replaces a dead transfer, so it is not held to the station's limit.
            stale = row.claimed_at is None or now - row.claimed_at > CLAIM_LEASE
            if not (stale or claimer_is_dead(row.claimed_by)):
                continue
        else:
            pausing = row.last_error and row.claimed_at and now - row.claimed_at < retry_pause
            if pausing or _station_full(session, row.station_id, limits, full):
                continue
        row.state, row.claimed_by, row.claimed_at = FileState.INGESTING, worker, now
        row.attempts += 1
        session.flush()
        return row
    return None


def pending_acknowledgements(session: Session, *, station_id: object) -> list[StationFile]:
    return list(
        session.execute(
            select(StationFile)
            .where(StationFile.station_id == station_id, StationFile.state == FileState.INGESTED)
            .with_for_update(skip_locked=True)
        ).scalars()
    )

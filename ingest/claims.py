"""Which worker ingests which file. Row locks with SKIP LOCKED, never a home-made coordinator."""

from __future__ import annotations

import os
import secrets
import socket
from datetime import datetime, timedelta

from sqlalchemy import or_, select
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


def claim_next(
    session: Session, *, worker: str, now: datetime, retry_pause: timedelta = timedelta(0)
) -> StationFile | None:
    """Claim one ready file (or one whose claimer died); flushes the claim. A file released
    after a failed attempt waits ``retry_pause`` before the next: a station that is down or
    a full store is not hammered in a tight loop."""
    candidates = session.execute(
        select(StationFile)
        .where(
            or_(
                (StationFile.state == FileState.WAITING) & StationFile.stable.is_(True),
                StationFile.state == FileState.INGESTING,
            )
        )
        .order_by(StationFile.first_seen_at)
        .limit(50)
        .with_for_update(skip_locked=True)
    ).scalars()
    for row in candidates:
        if row.state == FileState.INGESTING:
            stale = row.claimed_at is None or now - row.claimed_at > CLAIM_LEASE
            if not (stale or claimer_is_dead(row.claimed_by)):
                continue
        elif row.last_error and row.claimed_at and now - row.claimed_at < retry_pause:
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

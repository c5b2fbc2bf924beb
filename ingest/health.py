"""Station health alerts: a station whose last successful listing is older than the
threshold (or that was never reached) is reported, with its last error."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from vault.models import Station


def unreachable_stations(session: Session, *, now: datetime, after: timedelta) -> list[str]:
    return [message for _, message in unreachable(session, now=now, after=after)]


def unreachable(session: Session, *, now: datetime, after: timedelta) -> list[tuple[Station, str]]:
    alerts = []
    for station in session.execute(select(Station).order_by(Station.name)).scalars():
        seen = station.last_contact_at or station.registered_at
        if now - seen <= after:
            continue
        since = (
            f"not reached for {(now - seen).total_seconds() / 3600:.1f} h"
            if station.last_contact_at
            else "never reached"
        )
        why = f" (last error: {station.last_error})" if station.last_error else ""
        alerts.append((station, f"station {station.name} {since}{why}"))
    return alerts

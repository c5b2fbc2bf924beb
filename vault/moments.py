"""The one way an instant is written for people, and the one way for machines. Pure.

People (the CLI, the console, the PDFs): ``2026-12-02 05:16:10 +08:00 (CST)`` in the vault's
``display_timezone``: the offset makes it unambiguous, the abbreviation makes it familiar.
Machines (JSON): ISO 8601 in UTC with ``Z``."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

NONE = "-"


def for_people(moment: datetime | None, zone: str, *, none: str = NONE) -> str:
    """YYYY-MM-DD HH:MM:SS ±HH:MM (abbreviation), in ``zone``; ``none`` for no instant."""
    if moment is None:
        return none
    local = moment.astimezone(ZoneInfo(zone))
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M:%S} {offset[:3]}:{offset[3:]} ({local.tzname()})"


def for_machines(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with Z, to the microsecond the record holds; None stays None."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def local_day(moment: datetime, zone: str) -> str:
    """YYYYMMDD of the day it is in ``zone``: the date in a request, export or appraisal
    number, which people read as their own day (00:30 in Shanghai is still the day before
    in UTC)."""
    return f"{moment.astimezone(ZoneInfo(zone)):%Y%m%d}"

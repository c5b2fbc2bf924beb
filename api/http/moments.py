"""A moment in a query: an ISO 8601 time with its offset (or Z), or a date, read as the start
of that day in the vault's display time zone. A time without an offset is refused: the vault
will not guess whose clock it was read from."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from vault.errors import InputRejected

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def moment(text: str | None, *, name: str, zone: str) -> datetime | None:
    if text is None:
        return None
    value = text.strip()
    try:
        if _DATE.fullmatch(value):
            return datetime.combine(date.fromisoformat(value), time(), ZoneInfo(zone))
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InputRejected(
            f"{name}: {text!r} is not an ISO 8601 time (2026-12-02T10:00:00+08:00) or date"
        ) from None
    if parsed.tzinfo is None:
        raise InputRejected(
            f"{name}: {text!r} has no time zone; add its offset or Z"
            " (2026-12-02T10:00:00+08:00), or give a date"
        )
    return parsed

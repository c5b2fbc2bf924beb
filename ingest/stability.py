"""When is a station file finished? Pure decision, no I/O.

A file is taken only when two scans saw the same size and mtime and its mtime is at least
``settle`` old. Temporary names never get here: the adapter does not list them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Seen:
    size: int
    mtime_ns: int


def is_stable(*, previous: Seen | None, current: Seen, now: datetime, settle: timedelta) -> bool:
    if previous is None or previous != current:
        return False
    age_ns = now.timestamp() * 1e9 - current.mtime_ns
    return age_ns >= settle.total_seconds() * 1e9

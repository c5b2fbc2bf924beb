"""When is a station file finished? Pure decision, no I/O.

A file is taken only when two scans saw the same size and mtime and the vault has seen it
unchanged for at least ``settle``, by the vault's own clock. The file's mtime is the
station's clock, which may be wrong by years (a file dated 400 days ahead would otherwise
never settle): it only tells the vault that the file changed. Temporary names never get
here: the adapter does not list them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Seen:
    size: int
    mtime_ns: int


def is_stable(
    *,
    previous: Seen | None,
    current: Seen,
    unchanged_since: datetime | None,
    now: datetime,
    settle: timedelta,
) -> bool:
    if previous is None or previous != current or unchanged_since is None:
        return False
    return now - unchanged_since >= settle

"""The 24-hour guarantee as one rule: when a recording is near its ingest deadline, when it
has missed it, and which age bands the metrics count. Pure: no I/O.

Every reader of the deadline (alerts, /health, `evault sla`, the monthly compliance report,
/metrics) asks this object, so a recording is never "in time" in one place and "late" in
another. At exactly the deadline a recording is still in time; one microsecond past, it is late.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from itertools import pairwise

# Fixed lower bands of the waiting-age histogram; the warning and the deadline add theirs.
_FIXED_BANDS_HOURS = (1.0, 6.0)


class Stage(Enum):
    """How far a recording still on its station has come towards its deadline."""

    NEAR = "ingest_deadline_near"
    MISSED = "ingest_deadline_missed"


@dataclass(frozen=True)
class Deadline:
    limit: timedelta  # ingest_deadline_hours: docked -> ingested within this, or late
    warning: timedelta  # ingest_warning_hours: a file still waiting this long is near it

    def __post_init__(self) -> None:
        if not timedelta(0) < self.warning < self.limit:
            raise ValueError("the warning must come before the deadline")

    @classmethod
    def of_hours(cls, limit: float, warning: float | None = None) -> Deadline:
        """``warning`` defaults to five sixths of the deadline (20 h of 24 h)."""
        hours = timedelta(hours=limit)
        return cls(hours, timedelta(hours=warning) if warning is not None else hours * 5 / 6)

    @property
    def hours(self) -> float:
        return self.limit.total_seconds() / 3600

    def in_time(self, latency: timedelta) -> bool:
        """Docked-to-ingested within the deadline."""
        return latency <= self.limit

    def missed(self, age: timedelta) -> bool:
        """A recording that has waited (or took) ``age`` is past the deadline."""
        return not self.in_time(age)

    def stage(self, age: timedelta) -> Stage | None:
        """The stage a file still waiting at ``age`` has reached (the later one wins)."""
        if self.missed(age):
            return Stage.MISSED
        if age >= self.warning:
            return Stage.NEAR
        return None

    def age_bands(self) -> list[tuple[float, float | None, str]]:
        """The waiting-age bands of /metrics, in hours: (low, high or None, label), with the
        warning and the deadline as boundaries (default: <1h, 1-6h, 6-20h, 20-24h, 24h+)."""
        warning = self.warning.total_seconds() / 3600
        cuts = sorted({0.0, *(h for h in _FIXED_BANDS_HOURS if h < warning), warning, self.hours})
        bands: list[tuple[float, float | None, str]] = [
            (low, high, f"<{_h(high)}h" if low == 0 else f"{_h(low)}-{_h(high)}h")
            for low, high in pairwise(cuts)
        ]
        bands.append((self.hours, None, f"{_h(self.hours)}h+"))
        return bands

    def band(self, age: timedelta) -> str:
        hours = age.total_seconds() / 3600
        for low, high, label in self.age_bands():
            if high is None or low <= hours < high:
                return label
        raise AssertionError("the last band is open-ended")  # pragma: no cover


def _h(hours: float) -> str:
    return f"{round(hours, 2):g}"

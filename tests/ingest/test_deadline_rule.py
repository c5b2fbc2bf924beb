"""The one deadline rule every reader of the 24-hour guarantee asks (alerts, /health, sla,
compliance, metrics): the same recording is never in time in one place and late in another."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ingest.deadline_rule import Deadline, Stage

H = timedelta(hours=1)
DAY = Deadline.of_hours(24)


def test_exactly_at_the_deadline_is_in_time_and_a_moment_later_is_late() -> None:
    assert DAY.in_time(24 * H)
    assert not DAY.missed(24 * H)
    assert DAY.stage(24 * H) is Stage.NEAR
    later = 24 * H + timedelta(microseconds=1)
    assert DAY.missed(later)
    assert not DAY.in_time(later)
    assert DAY.stage(later) is Stage.MISSED


def test_the_warning_defaults_to_five_sixths_and_starts_at_its_age() -> None:
    assert DAY.warning == 20 * H
    assert DAY.stage(20 * H - timedelta(microseconds=1)) is None
    assert DAY.stage(20 * H) is Stage.NEAR
    assert Deadline.of_hours(48, 40).warning == 40 * H


def test_a_warning_after_the_deadline_is_refused() -> None:
    with pytest.raises(ValueError, match="before the deadline"):
        Deadline.of_hours(24, 30)


def test_metric_bands_follow_the_configured_deadline() -> None:
    labels = [label for _, _, label in DAY.age_bands()]
    assert labels == ["<1h", "1-6h", "6-20h", "20-24h", "24h+"]
    two_days = Deadline.of_hours(48, 40)
    assert [label for _, _, label in two_days.age_bands()] == [
        "<1h", "1-6h", "6-40h", "40-48h", "48h+",
    ]  # fmt: skip
    assert two_days.band(30 * H) == "6-40h"
    assert two_days.band(47 * H) == "40-48h"
    assert two_days.band(48 * H) == "48h+"
    short = Deadline.of_hours(4)  # warning 3 h 20 min: the 6 h band would lie past it
    assert [label for _, _, label in short.age_bands()] == ["<1h", "1-3.33h", "3.33-4h", "4h+"]

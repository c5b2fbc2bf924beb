"""Range headers: one byte range is served; anything else is a 416 with a short reason, never
a 500 (a 5,000-digit number once reached int() and its digit limit)."""

from __future__ import annotations

import pytest

from api.http.ranges import parse_range
from custody.access.delivery import ByteRange
from vault.errors import RangeNotSatisfiable


def test_ranges_that_are_served() -> None:
    assert parse_range(None, 100) is None
    assert parse_range("bytes=0-9", 100) == ByteRange(0, 10)
    assert parse_range("bytes=90-", 100) == ByteRange(90, 10)
    assert parse_range("bytes=-5", 100) == ByteRange(95, 5)
    assert parse_range("bytes=50-1000", 100) == ByteRange(50, 50)


@pytest.mark.parametrize(
    "header",
    ["bytes=0-" + "9" * 5000, "bytes=" + "1" * 5000 + "-", "bytes=-" + "7" * 30, "bytes=5-2",
     "bytes=100-", "bytes=0-1,5-6", "items=0-1", "bytes=-"],
)  # fmt: skip
def test_ranges_that_are_refused(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable) as refused:
        parse_range(header, 100)
    assert len(str(refused.value)) < 200

"""HTTP Range headers (RFC 9110 §14): one byte range, so a browser <video> can seek."""

from __future__ import annotations

import re

from custody.access.delivery import ByteRange
from vault.errors import RangeNotSatisfiable

# Twenty digits pass any object's size; more would only reach int()'s 4,300-digit limit.
RANGE = re.compile(r"^bytes=([0-9]{0,20})-([0-9]{0,20})$")
SHOWN = 80  # characters of a refused header repeated in the answer


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """None for the whole object; raises RangeNotSatisfiable for what cannot be served."""
    if header is None:
        return None
    match = RANGE.match(header.strip())
    if match is None:
        raise RangeNotSatisfiable(
            f"only a single bytes=start-end range is served, not {header[:SHOWN]!r}"
        )
    first, last = match.groups()
    if not first and not last:
        raise RangeNotSatisfiable("empty range")
    if not first:  # suffix: the last N bytes
        length = min(int(last), size)
        if length == 0:
            raise RangeNotSatisfiable("zero-length suffix range")
        return ByteRange(size - length, length)
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        raise RangeNotSatisfiable(f"range {header[:SHOWN]!r} is outside the {size} bytes")
    return ByteRange(start, end - start + 1)

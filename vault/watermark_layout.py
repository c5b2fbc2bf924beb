"""Where a watermark's text goes on a frame: sized to the frame and wrapped so that every
character is inside it, from 320x240 up. Pure: no I/O.

The width of a character is estimated from the font size (``EM_WIDTH`` em, generous for the
sans-serif font ffmpeg's drawtext uses by default); tests/vault/test_watermark.py renders each
line alone and checks that the estimate holds on the real frame.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

EM_WIDTH = 0.66  # widest average advance of digits, capitals and "|" in DejaVu Sans, with room
MIN_FONT = 11  # pixels: smaller is not legible on a 240-line frame
MARGIN_FRACTION = 0.03


@dataclass(frozen=True)
class Layout:
    font_size: int
    line_height: int
    margin: int
    lines: list[str]


def layout(text: str, *, width: int, height: int) -> Layout:
    """Lines of ``text`` (broken at spaces, or inside a word longer than a line) and a font
    size that fits them in the frame's width, using at most a third of its height."""
    margin = max(4, round(min(width, height) * MARGIN_FRACTION))
    size = max(MIN_FONT, round(height / 26))
    while True:
        per_line = max(8, int((width - 2 * margin) / (size * EM_WIDTH)))
        lines = textwrap.wrap(text, width=per_line, break_long_words=True) or [""]
        line_height = round(size * 1.3)
        if size == MIN_FONT or len(lines) * line_height <= height / 3:
            return Layout(size, line_height, margin, lines)
        size -= 1

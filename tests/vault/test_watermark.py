"""Watermarks carry the whole watermark: the text is wrapped and sized to the frame, so every
character is drawn inside it from 320x240 up (checked by rendering the watermark alone on a
black frame of that size and finding where its pixels are), and deliveries with different
texts are different bytes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import ffmpeg
import pytest

from vault.media import ffmpeg_binary
from vault.renditions import burn_in, watermark
from vault.synthetic import generate_clip
from vault.watermark_layout import layout

TEXTS = [
    "wang.fang | AR-20261201-9F3A2C | 2026-12-01 23:59:59 UTC",
    "Haidian District People's Procuratorate | EXP-20261201-4B7D1E",
]
SIZES = [(320, 240), (640, 360), (1920, 1080)]


def _alone(text: str, width: int, height: int) -> list[bytes]:
    """The watermark burnt into one black frame, as rows of 8-bit grey pixels."""
    canvas = ffmpeg.input(f"color=c=black:s={width}x{height}:d=0.1", f="lavfi")
    out, _ = (
        burn_in(canvas.video, text, width=width, height=height)
        .output("pipe:", vframes=1, f="rawvideo", pix_fmt="gray")
        .run(cmd=ffmpeg_binary(), capture_stdout=True, capture_stderr=True)
    )
    assert len(out) == width * height
    return [out[y * width : (y + 1) * width] for y in range(height)]


@pytest.mark.parametrize(("width", "height"), SIZES)
@pytest.mark.parametrize("text", TEXTS)
def test_every_character_is_drawn_inside_the_frame(text: str, width: int, height: int) -> None:
    placed = layout(text, width=width, height=height)
    assert " ".join(placed.lines) == text  # nothing dropped: breaks only at spaces
    rows = _alone(text, width, height)
    lit = [(x, y) for y, row in enumerate(rows) for x, v in enumerate(row) if v > 128]
    assert lit, "no text was drawn"
    right = max(x for x, _ in lit)
    # A line wider than the frame is cut at its edge, and its last pixels land there.
    assert right < width - placed.margin // 2, (right, width, placed)
    # One band of lit rows per line: every line is on the frame.
    bands, previous = 0, -2
    for y in sorted({y for _, y in lit}):
        bands += y != previous + 1
        previous = y
    assert bands == len(placed.lines), (bands, placed.lines)
    assert placed.font_size >= 11


def test_each_delivery_is_its_own_bytes(tmp_path: Path) -> None:
    source = generate_clip(tmp_path / "r.mp4", seconds=1, width=320, height=240)
    digests = set()
    for second in ("00", "01", "02"):
        target = tmp_path / f"w{second}.mp4"
        text = f"wang.fang | AR-20261201-9F3A2C | 2026-12-01 23:59:{second} UTC"
        watermark(str(source), target, text, has_audio=True)
        digests.add(hashlib.sha256(target.read_bytes()).hexdigest())
    assert len(digests) == 3

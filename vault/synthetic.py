"""Synthetic recordings made by ffmpeg (lavfi testsrc + sine): for the demo and the tests."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import ffmpeg

from vault.media import ffmpeg_binary


def generate_clip(
    path: Path,
    *,
    seconds: float = 3.0,
    width: int = 320,
    height: int = 240,
    frequency: int = 440,
    recorded_at: datetime | None = None,
    label: str = "",
) -> Path:
    """Write an H.264/AAC MP4 of a test pattern and a tone. Each (frequency, label) pair gives
    different bytes, so several clips are several items."""
    video = ffmpeg.input(f"testsrc=size={width}x{height}:rate=15", f="lavfi", t=seconds)
    if label:
        video = video.drawtext(text=label, x=10, y=10, fontsize=18, fontcolor="white")
    audio = ffmpeg.input(f"sine=frequency={frequency}", f="lavfi", t=seconds)
    options: dict[str, object] = {
        "vcodec": "libx264",
        "pix_fmt": "yuv420p",
        "preset": "ultrafast",
        "acodec": "aac",
        "shortest": None,
    }
    if recorded_at is not None:
        options["metadata"] = f"creation_time={recorded_at.isoformat()}"
    path.parent.mkdir(parents=True, exist_ok=True)
    (
        ffmpeg.output(video, audio, str(path), **options)
        .overwrite_output()
        .run(cmd=ffmpeg_binary(), quiet=True)
    )
    return path

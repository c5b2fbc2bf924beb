"""Access renditions: a standard MP4 (H.264/AAC, yuv420p, +faststart) made by ffmpeg from an
item's access copy, and per-request watermarked copies of it. Pure ffmpeg work on files; the
job that stores the results and records them in custody lives in ingest.renditions."""

from __future__ import annotations

import functools
import logging
import subprocess
from pathlib import Path
from typing import Any

import av
import av.error
import ffmpeg

from vault.errors import MediaUnreadable
from vault.media import ffmpeg_binary
from vault.scrub import tool_report
from vault.watermark_layout import layout

# Browsers play this everywhere; faststart puts the index first so playback can start early.
RENDITION_OPTIONS: dict[str, str | int] = {
    "vcodec": "libx264",
    "preset": "veryfast",
    "crf": 23,
    "pix_fmt": "yuv420p",
    "acodec": "aac",
    "audio_bitrate": "128k",
    "movflags": "+faststart",
}
STDERR_TAIL = 4000
log = logging.getLogger(__name__)
DEFAULT_TIMEOUT = 3600.0  # seconds; a stuck ffmpeg is killed, not waited on forever


class RenditionFailed(MediaUnreadable):
    """ffmpeg could not make the rendition; the message is the end of its own report."""


@functools.cache
def ffmpeg_version() -> str:
    out = subprocess.run(
        [ffmpeg_binary(), "-hide_banner", "-version"],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    return out.stdout.splitlines()[0] if out.stdout else "unknown"


def _run(stream: ffmpeg.nodes.OutputStream, timeout: float) -> list[str]:
    arguments: list[str] = stream.get_args()
    process = stream.run_async(cmd=ffmpeg_binary(), pipe_stdout=True, pipe_stderr=True)
    try:
        _, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise RenditionFailed(f"ffmpeg did not finish within {timeout:.0f} s") from None
    if process.returncode != 0:
        report = stderr.decode(errors="replace").strip()
        # The whole report (paths and all) is for the operator's log; the exception's text
        # reaches custody records and HTTP answers, so it carries no location.
        log.warning("ffmpeg failed", extra={"status": process.returncode,
                                            "report": report[-STDERR_TAIL:]})  # fmt: skip
        raise RenditionFailed(
            tool_report(report) or f"ffmpeg failed with exit status {process.returncode}"
        )
    return arguments


def transcode(source: str, target: Path, *, timeout: float = DEFAULT_TIMEOUT) -> list[str]:
    """Make the rendition of ``source`` (a path or URL) at ``target``; returns the arguments
    (with the source and target as given) for the custody record."""
    video = ffmpeg.input(source)
    stream = ffmpeg.output(video, str(target), f="mp4", **RENDITION_OPTIONS).global_args(
        "-nostdin", "-y"
    )
    return _run(stream, timeout)


def frame_size(source: str) -> tuple[int, int]:
    """Width and height of the first video stream of ``source`` (a path or URL)."""
    try:
        with av.open(source) as container:
            video = container.streams.video[0]
            return int(video.codec_context.width), int(video.codec_context.height)
    except (av.error.FFmpegError, IndexError) as exc:
        raise RenditionFailed(f"cannot read the frame size of the rendition: {exc}") from None


def burn_in(video: Any, text: str, *, width: int, height: int) -> Any:
    """``text`` on every frame, wrapped and sized to it (vault.watermark_layout), bottom left,
    white on a half-transparent box: legible on any picture."""
    placed = layout(text, width=width, height=height)
    count = len(placed.lines)
    for n, line in enumerate(placed.lines):
        from_bottom = placed.margin + (count - n) * placed.line_height
        video = video.drawtext(
            text=line,
            x=placed.margin,
            y=height - from_bottom,
            fontsize=placed.font_size,
            fontcolor="white",
            box=1,
            boxcolor="black@0.5",
            boxborderw=2,
        )
    return video


def watermark(
    source: str, target: Path, text: str, *, has_audio: bool, timeout: float = DEFAULT_TIMEOUT
) -> list[str]:
    """A copy of a rendition with ``text`` burned into every frame (audio copied as is)."""
    width, height = frame_size(source)
    original = ffmpeg.input(source)
    video = burn_in(original.video, text, width=width, height=height)
    options = {k: v for k, v in RENDITION_OPTIONS.items() if k not in ("acodec", "audio_bitrate")}
    streams = [video, original.audio] if has_audio else [video]
    extra = {"acodec": "copy"} if has_audio else {}
    stream = ffmpeg.output(*streams, str(target), f="mp4", **extra, **options).global_args(
        "-nostdin", "-y"
    )
    return _run(stream, timeout)


# A clip must carry the original's decoded frames unchanged, so a reviewer can match each of
# its frames to the original's: FFV1 is lossless and keeps the source's pixel format, and
# passthrough timing neither drops nor duplicates a frame.
CLIP_OPTIONS: dict[str, str | int] = {"vcodec": "ffv1", "level": 3, "acodec": "flac"}
FRAME_TIMING = ("-fps_mode", "passthrough")


def _span(start: float | None, end: float | None) -> dict[str, float]:
    span: dict[str, float] = {}
    if start is not None:
        span["ss"] = start
    if end is not None:
        span["to"] = end
    return span


def cut_clip(
    source: str,
    target: Path,
    *,
    start: float,
    end: float,
    has_audio: bool,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[str]:
    """A lossless Matroska clip of ``source`` from ``start`` to ``end`` seconds (input-side
    seeking, which decodes to the exact frame); returns the ffmpeg arguments."""
    original = ffmpeg.input(source, **_span(start, end))
    streams = [original.video, original.audio] if has_audio else [original.video]
    options = CLIP_OPTIONS if has_audio else {"vcodec": "ffv1", "level": 3}
    stream = ffmpeg.output(*streams, str(target), f="matroska", **options).global_args(
        "-nostdin", "-y", *FRAME_TIMING
    )
    return _run(stream, timeout)


def frame_hashes(
    source: str,
    target: Path,
    *,
    start: float | None = None,
    end: float | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[str]:
    """ffmpeg's framehash (SHA-256 of every decoded video frame) of ``source``, or of the
    frames between ``start`` and ``end`` seconds chosen exactly as cut_clip chooses them."""
    video = ffmpeg.input(source, **_span(start, end)).video
    stream = ffmpeg.output(video, str(target), f="framehash", hash="sha256").global_args(
        "-nostdin", "-y", *FRAME_TIMING
    )
    return _run(stream, timeout)

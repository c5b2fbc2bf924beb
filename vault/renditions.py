"""Access renditions: a standard MP4 (H.264/AAC, yuv420p, +faststart) made by ffmpeg from an
item's access copy, and per-request watermarked copies of it. Pure ffmpeg work on files; the
job that stores the results and records them in custody lives in ingest.renditions."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

import ffmpeg

from vault.media import ffmpeg_binary

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
STDERR_TAIL = 800
DEFAULT_TIMEOUT = 3600.0  # seconds; a stuck ffmpeg is killed, not waited on forever


class RenditionFailed(Exception):
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
        tail = stderr.decode(errors="replace").strip()[-STDERR_TAIL:]
        raise RenditionFailed(tail or f"ffmpeg failed with exit status {process.returncode}")
    return arguments


def transcode(source: str, target: Path, *, timeout: float = DEFAULT_TIMEOUT) -> list[str]:
    """Make the rendition of ``source`` (a path or URL) at ``target``; returns the arguments
    (with the source and target as given) for the custody record."""
    video = ffmpeg.input(source)
    stream = ffmpeg.output(video, str(target), f="mp4", **RENDITION_OPTIONS).global_args(
        "-nostdin", "-y"
    )
    return _run(stream, timeout)


def watermark(
    source: str, target: Path, text: str, *, has_audio: bool, timeout: float = DEFAULT_TIMEOUT
) -> list[str]:
    """A copy of a rendition with ``text`` burned into every frame (audio copied as is)."""
    original = ffmpeg.input(source)
    video = original.video.drawtext(
        text=text,
        x=10,
        y="h-th-10",
        fontsize=18,
        fontcolor="white",
        box=1,
        boxcolor="black@0.5",
    )
    options = {k: v for k, v in RENDITION_OPTIONS.items() if k not in ("acodec", "audio_bitrate")}
    streams = [video, original.audio] if has_audio else [video]
    extra = {"acodec": "copy"} if has_audio else {}
    stream = ffmpeg.output(*streams, str(target), f="mp4", **extra, **options).global_args(
        "-nostdin", "-y"
    )
    return _run(stream, timeout)

"""Media probing (PyAV, from a stream: no system ffprobe) and the ffmpeg binary."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, BinaryIO

import av
import av.error
import imageio_ffmpeg

MP4_FORMAT_NAMES = {"mov", "mp4", "m4a", "3gp", "3g2", "mj2"}
FORMAT_MEDIA_TYPES = {
    "matroska": "video/x-matroska",
    "avi": "video/x-msvideo",
    "mpegts": "video/mp2t",
    "flv": "video/x-flv",
    "asf": "video/x-ms-asf",
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
}
OCTET_STREAM = "application/octet-stream"


def ffmpeg_binary() -> str:
    """The system's ffmpeg when present, else the one shipped in the imageio-ffmpeg wheel."""
    system = shutil.which("ffmpeg")
    if system:
        return system
    return str(imageio_ffmpeg.get_ffmpeg_exe())


@dataclass(frozen=True)
class ProbeResult:
    media_type: str
    duration_ms: int | None
    creation_time: datetime | None
    # JSON-safe summary kept on the item and in the custody chain (integers and strings only).
    summary: dict[str, Any] = field(default_factory=dict)


class ProbeFailed(Exception):
    """ffmpeg's libraries could not read the file; the message is theirs."""


def _media_type(format_names: set[str], has_video: bool) -> str:
    if format_names & MP4_FORMAT_NAMES:
        return "video/mp4" if has_video else "audio/mp4"
    for name, media_type in FORMAT_MEDIA_TYPES.items():
        if name in format_names:
            return media_type
    return OCTET_STREAM


def _creation_time(tags: dict[str, str]) -> datetime | None:
    raw = tags.get("creation_time")
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def probe_stream(stream: BinaryIO) -> ProbeResult:
    """Read container headers from ``stream`` (demuxer reads; no full decode, flat memory)."""
    try:
        with av.open(stream, mode="r") as container:
            format_names = set(container.format.name.split(","))
            streams: list[dict[str, Any]] = []
            for s in container.streams:
                entry: dict[str, Any] = {
                    "index": s.index,
                    "type": s.type,
                    "codec": s.codec_context.name,
                }
                if isinstance(s, av.VideoStream):
                    entry.update(
                        width=int(s.codec_context.width), height=int(s.codec_context.height)
                    )
                elif isinstance(s, av.AudioStream):
                    entry.update(
                        sample_rate=int(s.codec_context.sample_rate),
                        channels=int(s.codec_context.channels),
                    )
                streams.append(entry)
            tags = {str(k): str(v) for k, v in container.metadata.items()}
            duration_ms = (
                int(container.duration // 1000) if container.duration is not None else None
            )
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise ProbeFailed(str(exc)) from exc
    has_video = any(s["type"] == "video" for s in streams)
    if not streams:
        raise ProbeFailed("no audio or video streams found")
    creation = _creation_time(tags)
    summary: dict[str, Any] = {
        "format": container.format.name,
        "duration_ms": duration_ms,
        "streams": streams,
    }
    if creation is not None:
        summary["creation_time"] = creation.isoformat()
    return ProbeResult(
        media_type=_media_type(format_names, has_video),
        duration_ms=duration_ms,
        creation_time=creation,
        summary=summary,
    )

"""Media probing (PyAV, from a stream: no system ffprobe) and the ffmpeg binary."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, BinaryIO

import av
import av.error
import filetype
import imageio_ffmpeg

from vault.errors import MediaUnreadable
from vault.scrub import without_locations

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
# Container kinds recognised from their signature, and the ffmpeg demuxer for each. Naming the
# demuxer skips libavformat's guess over every format, which can spin forever on some
# arbitrary bytes (seen in the crash tests on random data); anything else is kept and sealed,
# and marked unreadable.
DEMUXER_BY_EXTENSION = {
    "mp4": "mov",
    "m4v": "mov",
    "mov": "mov",
    "3gp": "mov",
    "m4a": "mov",
    "mkv": "matroska",
    "webm": "matroska",
    "avi": "avi",
    "wmv": "asf",
    "mpg": "mpeg",
    "flv": "flv",
    "mp3": "mp3",
    "wav": "wav",
    "aac": "aac",
    "amr": "amr",
    "ogg": "ogg",
    "flac": "flac",
}
SNIFF_BYTES = 8192


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


class ProbeFailed(MediaUnreadable):
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


def sniff_demuxer(stream: BinaryIO) -> str:
    """The demuxer for ``stream``'s container, from its first bytes; the stream is rewound."""
    head = stream.read(SNIFF_BYTES)
    stream.seek(0)
    kind = filetype.guess(head)
    demuxer = DEMUXER_BY_EXTENSION.get(kind.extension) if kind is not None else None
    if demuxer is None:
        shown = kind.mime if kind is not None else f"first bytes {head[:8].hex()}"
        raise ProbeFailed(f"not a recognised audio or video container ({shown})")
    return demuxer


def probe_stream(stream: BinaryIO) -> ProbeResult:
    """Read container headers from ``stream`` (demuxer reads; no full decode, flat memory)."""
    demuxer = sniff_demuxer(stream)
    try:
        with av.open(stream, mode="r", format=demuxer) as container:
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
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError, AttributeError) as exc:
        # AttributeError: PyAV leaves a stream's codec context empty for some damaged input.
        raise ProbeFailed(without_locations(str(exc)) or type(exc).__name__) from exc
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

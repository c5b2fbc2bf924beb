"""File names from stations: safe display, validation, and the configured naming convention."""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from config.settings import FilenameConvention
from vault.errors import InputRejected

# Names a camera or a copy tool uses while a file is still being written.
TEMP_SUFFIXES = (
    ".part",
    ".partial",
    ".tmp",
    ".temp",
    ".crdownload",
    ".filepart",
    ".download",
    ".!sync",
    ".uploading",
)
TEMP_PREFIXES = ("~$", ".~")
# rsync and similar tools write ".<name>.<6 random characters>" and rename when done.
RSYNC_TEMP = re.compile(r"^\..+\.[A-Za-z0-9]{6}$")


class UnsafeName(InputRejected):
    """A station file name the vault will not take as it is (``..``, an absolute path, a
    control character); the file stays on the station and the scan reports it."""


def display_name(raw: bytes) -> str:
    """Printable text for a raw name: undecodable bytes become \\xNN, control characters are
    escaped, so a name can never forge a log line or a terminal sequence."""
    text = raw.decode("utf-8", "backslashreplace")
    return "".join(
        ch.encode("unicode_escape").decode("ascii")
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")
        else ch
        for ch in text
    )


def check_relative_path(raw: bytes) -> list[bytes]:
    """Split a station-relative path, refusing anything that could leave the station root."""
    if not raw or raw.startswith(b"/") or b"\x00" in raw:
        raise UnsafeName(f"unsafe path {display_name(raw)!r}")
    parts = raw.split(b"/")
    for part in parts:
        if part in (b"", b".", b".."):
            raise UnsafeName(f"unsafe path component in {display_name(raw)!r}")
    return parts


def is_temporary(name: bytes) -> bool:
    text = os.fsdecode(name)
    lower = text.lower()
    return (
        lower.startswith(TEMP_PREFIXES)
        or lower.endswith(TEMP_SUFFIXES)
        or RSYNC_TEMP.match(text) is not None
    )


@dataclass(frozen=True)
class NameFields:
    device: str | None = None
    officer: str | None = None
    start: datetime | None = None
    problem: str | None = None


def parse_name(name: bytes, convention: FilenameConvention) -> NameFields:
    text = name.decode("utf-8", "replace")
    match = re.search(convention.pattern, text)
    if match is None:
        return NameFields()
    groups = match.groupdict()
    start: datetime | None = None
    problem = None
    raw_start = groups.get("start")
    if raw_start:
        for fmt in convention.start_formats:
            try:
                start = datetime.strptime(raw_start, fmt).replace(
                    tzinfo=ZoneInfo(convention.device_timezone)
                )
                break
            except ValueError:
                continue
        else:
            problem = f"start time {raw_start!r} matches none of {convention.start_formats}"
    return NameFields(
        device=groups.get("device"), officer=groups.get("officer"), start=start, problem=problem
    )

"""Text from tools (ffmpeg, PyAV) made fit for a custody record or an HTTP answer: no server
path, no URL (a presigned one carries a credential), no build configuration, short."""

from __future__ import annotations

import re

_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)
# An absolute path: a slash not preceded by a word character, a dot or another slash (so
# "16/9" and "a/b" stay), up to whitespace or a quote.
_PATH = re.compile(r"(?<![\w./])/[^\s'\"]*")
MAX_LINES = 3
MAX_LINE = 200


def without_locations(text: str) -> str:
    return _PATH.sub("<path>", _URL.sub("<url>", text))


def tool_report(text: str) -> str:
    """The last few lines of a tool's report (where the error is), without locations."""
    lines = [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith(("configuration:", "built with", "lib"))
    ]
    kept = [without_locations(line)[:MAX_LINE] for line in lines[-MAX_LINES:]]
    return " / ".join(kept)

"""Optional JSON sidecar metadata a station writes beside a recording.

A sidecar is part of what the station handed over: its bytes are kept in both stores with the
recording, valid or not, before the station copy is acknowledged. A malformed sidecar never
stops a recording from being preserved: the problem is recorded in its custody entry.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

MAX_SIDECAR_BYTES = 256 * 1024


class StationMetadata(BaseModel):
    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)

    device: str | None = Field(default=None, max_length=100)
    officer: str | None = Field(default=None, max_length=100)
    recorded_start: AwareDatetime | None = None
    recorded_end: AwareDatetime | None = None
    location: str | None = Field(default=None, max_length=500)
    matter: str | None = Field(default=None, max_length=2000)
    counterparty: str | None = Field(default=None, max_length=500)
    # Why a recording stopped early (device fault, battery, storage full …).
    interruption: str | None = Field(default=None, max_length=2000)
    # The SHA-256 the station or camera computed: checked against the bytes received.
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")


@dataclass(frozen=True)
class Sidecar:
    digest: str
    size: int
    metadata: StationMetadata | None
    problem: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    name: str = ""  # the file's name on the station, for display
    raw: bytes | None = field(default=None, repr=False)  # None: over the limit, not read whole

    def device_time(self) -> datetime | None:
        return self.metadata.recorded_start if self.metadata else None


def parse_sidecar(raw: bytes, name: str = "") -> Sidecar:
    parsed = _parse(raw)
    whole = len(raw) <= MAX_SIDECAR_BYTES
    return replace(parsed, name=name, raw=raw if whole else None)


def _parse(raw: bytes) -> Sidecar:
    digest = hashlib.sha256(raw).hexdigest()
    if len(raw) > MAX_SIDECAR_BYTES:
        return Sidecar(
            digest,
            len(raw),
            None,
            f"sidecar is over the {MAX_SIDECAR_BYTES}-byte limit: not kept, not read",
        )
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return Sidecar(digest, len(raw), None, f"sidecar is not valid UTF-8 JSON: {exc}")
    if not isinstance(document, dict):
        return Sidecar(digest, len(raw), None, "sidecar JSON is not an object")
    try:
        metadata = StationMetadata.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        return Sidecar(digest, len(raw), None, f"sidecar fields rejected: {problems}")
    return Sidecar(digest, len(raw), metadata)


def sidecar_names(name: bytes) -> list[bytes]:
    """Sidecar names tried for a recording: ``clip.mp4.json`` then ``clip.json``."""
    stem = name.rsplit(b".", 1)[0] if b"." in name[1:] else name
    return [name + b".json", stem + b".json"]

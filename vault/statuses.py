"""What an evidence item's status columns can say: plain enums with no database import, so the
API's response schemas (and a CLI working through --url) can name them without loading the ORM."""

from __future__ import annotations

import enum


class ItemStatus(enum.StrEnum):
    # Both copies written, re-read and matched; custody events committed.
    PRESERVED = "preserved"
    # Destruction executed: bytes gone, metadata and custody chain kept as a tombstone.
    DESTROYED = "destroyed"


class MediaStatus(enum.StrEnum):
    PROBED = "probed"
    # ffmpeg could not read the file; it is sealed and kept all the same (invariant 6).
    UNREADABLE = "unreadable"


class ScanStatus(enum.StrEnum):
    CLEAN = "clean"
    # Preserved and sealed like any recording, but never handed out (no rendition, delivery
    # or export) unless someone records, in custody, why it must be.
    INFECTED = "infected"
    UNSCANNED = "unscanned"  # no scanner could look at it (said so, never silently)

"""Custody event kinds (DESIGN.md), one string each in the log."""

from __future__ import annotations

import enum


class EventKind(enum.StrEnum):
    INGESTED = "ingested"
    SEALED = "sealed"
    ACCESS_COPY_STORED = "access_copy_stored"
    # The same bytes docked again (another station, a re-dock): never a second item.
    RECEIVED_AGAIN = "received_again"
    RENDITION_MADE = "rendition_made"
    RENDITION_FAILED = "rendition_failed"
    METADATA_CORRECTED = "metadata_corrected"
    CASE_LINKED = "case_linked"
    GAP_EXPLAINED = "gap_explained"
    ACCESS_REQUESTED = "access_requested"
    ACCESS_APPROVED = "access_approved"
    ACCESS_REFUSED = "access_refused"
    VIEWED = "viewed"
    DOWNLOADED = "downloaded"
    EXPORTED = "exported"
    # How a view or download ended: complete (every byte handed over and the digest checked),
    # interrupted (the recipient stopped reading after N bytes), or refused (the stored copy
    # failed its re-hash on the way out; the fixity path took over). Its "of" is the seq of
    # the viewed/downloaded entry, which is recorded before the first byte.
    DELIVERY_ENDED = "delivery_ended"
    # An export that stopped part-way: its exported entries name a package that was never
    # handed over (removed), and this says so and why.
    EXPORT_ABANDONED = "export_abandoned"
    # The last step of an export: the SHA-256 of the package's signed manifest (export.json,
    # naming every file), of its report and of its verify.py, with the chain before it, so
    # the checkpoint that covers this entry covers the whole package.
    EXPORT_PACKAGED = "export_packaged"
    FIXITY_OK = "fixity_ok"
    FIXITY_FAILED = "fixity_failed"
    REPAIRED = "repaired"
    RETENTION_SET = "retention_set"
    RETENTION_EXTENDED = "retention_extended"
    HOLD_PLACED = "hold_placed"
    HOLD_RELEASED = "hold_released"
    APPRAISED = "appraised"
    DESTRUCTION_APPROVED = "destruction_approved"
    # The supervisor (监销人) took on witnessing the destruction: a step of its own.
    DESTRUCTION_SUPERVISED = "destruction_supervised"
    DESTROYED = "destroyed"
    # An approver's recorded decision that a recording flagged infected may be handed out.
    VIRUS_OVERRIDE = "virus_override"
    # A recording preserved unscanned, scanned again later: the verdict and what it replaces.
    VIRUS_RESCANNED = "virus_rescanned"


# Kinds that put bytes in a person's hands: only custody.access.delivery appends them.
DELIVERY_KINDS = frozenset({EventKind.VIEWED, EventKind.DOWNLOADED, EventKind.EXPORTED})

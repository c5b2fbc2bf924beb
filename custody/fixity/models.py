"""Where each stored copy stands in the fixity schedule. A schedule, not a verdict: the
verdicts are the fixity_ok / fixity_failed / repaired custody events."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

import vault.models  # noqa: F401 - fixity rows point at evidence_item
from vault.db import Base, UTCDateTime


class CopyKind(enum.StrEnum):
    SEALED = "sealed"
    ACCESS = "access"
    RENDITION = "rendition"
    DERIVED = "derived"  # a watermarked copy or export clip; one schedule row per digest
    # A station's sidecar kept with the item, in each store: repaired from the other like
    # the recording's own two copies.
    SIDECAR_SEALED = "sidecar-sealed"
    SIDECAR_ACCESS = "sidecar-access"


PER_DIGEST = frozenset({CopyKind.DERIVED, CopyKind.SIDECAR_SEALED, CopyKind.SIDECAR_ACCESS})
# Each repairable copy, and the copy it is repaired from.
REPAIRED_FROM = {
    CopyKind.SEALED: CopyKind.ACCESS,
    CopyKind.ACCESS: CopyKind.SEALED,
    CopyKind.SIDECAR_SEALED: CopyKind.SIDECAR_ACCESS,
    CopyKind.SIDECAR_ACCESS: CopyKind.SIDECAR_SEALED,
}
IN_SEALED_STORE = frozenset({CopyKind.SEALED, CopyKind.SIDECAR_SEALED})


def copy_key(kind: CopyKind, digest: str | None = None) -> str:
    """The schedule's name for a stored copy: the kind, and for a kind an item has many of
    (derived copies, sidecars) the digest too."""
    if kind in PER_DIGEST:
        assert digest is not None
        return f"{kind.value}:{digest}"
    return kind.value


def kind_of(key: str) -> CopyKind:
    return CopyKind(key.split(":", 1)[0])


class FixityStatus(enum.StrEnum):
    UNCHECKED = "unchecked"
    OK = "ok"
    FAILED = "failed"  # damaged or missing, and not (yet) repaired
    REPAIRED = "repaired"


class FixityState(Base):
    __tablename__ = "fixity_state"

    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("evidence_item.id"), primary_key=True)
    copy: Mapped[str] = mapped_column(String(80), primary_key=True)  # see copy_key()
    digest: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    status: Mapped[str] = mapped_column(String(20), default=FixityStatus.UNCHECKED.value)
    # Set when a check fails: the copy is not to be trusted (or served) until repaired.
    quarantined_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

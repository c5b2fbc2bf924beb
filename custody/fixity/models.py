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


class FixityStatus(enum.StrEnum):
    UNCHECKED = "unchecked"
    OK = "ok"
    FAILED = "failed"  # damaged or missing, and not (yet) repaired
    REPAIRED = "repaired"


class FixityState(Base):
    __tablename__ = "fixity_state"

    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("evidence_item.id"), primary_key=True)
    copy: Mapped[str] = mapped_column(String(20), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    status: Mapped[str] = mapped_column(String(20), default=FixityStatus.UNCHECKED.value)
    # Set when a check fails: the copy is not to be trusted (or served) until repaired.
    quarantined_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

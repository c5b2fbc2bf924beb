"""Alerts someone must act on, kept as rows (an outbox): an alert is raised in the same
transaction as the fact behind it, so it exists exactly when the fact does, and a webhook that
is down only delays its delivery."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vault.db import Base, UTCDateTime, UUIDPrimaryKey


class AlertLevel(enum.StrEnum):
    WARNING = "warning"  # act soon (e.g. a file 20 hours on its station)
    ERROR = "error"  # a rule is broken or evidence needs a person now


class Alert(UUIDPrimaryKey, Base):
    __tablename__ = "alert"

    # What makes an alert the same alert: raising it again is a no-op (one per file and
    # deadline stage, one per item and problem, one per station outage).
    key: Mapped[str] = mapped_column(Text, unique=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    level: Mapped[str] = mapped_column(String(10))
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    webhook_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    webhook_attempts: Mapped[int] = mapped_column(Integer, default=0)
    webhook_error: Mapped[str | None] = mapped_column(Text)
    # A person has seen to it: who, when and why (also in the administration log). The alert
    # stays, as its cause's record; it only leaves the list of open ones.
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
    acknowledgement: Mapped[str | None] = mapped_column(Text)

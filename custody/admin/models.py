"""Administration log entries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vault.db import Base, UTCDateTime


class AdminEvent(Base):
    __tablename__ = "admin_event"

    # Gapless from 1, assigned under the custody log-head lock (acts are rare).
    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(200))  # user:<name> (API) or cli:<account>
    action: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(Text)  # the user, token or policy acted on
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    entry_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)

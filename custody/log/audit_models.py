"""An audit of the whole vault started from the console: it runs in the background, its
progress is kept here (so a reloaded page, or another server process, shows it), and it ends
with the signed PDF report."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vault.db import Base, UTCDateTime, utcnow


class AuditRun(Base):
    __tablename__ = "audit_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_by: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # running, passed (no finding), failed (findings), error (the audit could not finish)
    status: Mapped[str] = mapped_column(String(20), index=True)
    entries: Mapped[int] = mapped_column(BigInteger, default=0)  # the log's, at the start
    items_total: Mapped[int] = mapped_column(Integer, default=0)
    items_done: Mapped[int] = mapped_column(Integer, default=0)
    bytes_total: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_done: Mapped[int] = mapped_column(BigInteger, default=0)
    findings: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    report_pdf: Mapped[bytes | None] = mapped_column(LargeBinary)
    report_digest: Mapped[str | None] = mapped_column(String(64))

"""Custody log rows. Verification hashes each entry's stored canonical bytes and compares them
with these columns (or re-canonicalises the columns, custody.log.chain_check)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

import vault.models  # noqa: F401 - custody rows point at evidence_item: keep it in the metadata
from vault.db import Base, UTCDateTime


class CustodyEvent(Base):
    __tablename__ = "custody_event"
    __table_args__ = (Index("ix_custody_event_item_seq", "item_id", "seq"),)

    # Global, gapless, assigned under the log-head lock (a DB sequence leaves gaps on rollback).
    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("evidence_item.id"))
    kind: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    entry_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    # The exact RFC 8785 bytes entry_hash was computed from, kept so that an audit hashes
    # and parses them instead of re-canonicalising. NULL only for an entry written before
    # they were kept whose columns no longer hash to entry_hash (migration 0023).
    canonical: Mapped[bytes | None] = mapped_column(LargeBinary)


class LogHead(Base):
    """One row. Its lock serialises appends; its fields let verification detect truncation."""

    __tablename__ = "log_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    # The log's name in its checkpoints (C2SP origin); fixed the first time one is signed.
    origin: Mapped[str | None] = mapped_column(String(200))


class ChainHead(Base):
    """Where each item's chain ends: lets verification notice a missing last entry."""

    __tablename__ = "chain_head"

    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("evidence_item.id"), primary_key=True)
    length: Mapped[int] = mapped_column(BigInteger)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    head_hash: Mapped[bytes] = mapped_column(LargeBinary(32))

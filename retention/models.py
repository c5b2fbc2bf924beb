"""Retention records: policy versions, legal holds, appraisal batches and their decisions."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

import custody.log.models  # noqa: F401 - decisions point at items: keep them in the metadata
from retention.decisions import Decision as Decision  # noqa: PLC0414 - re-exported
from vault.db import Base, UTCDateTime, UUIDPrimaryKey, utcnow


class PolicyVersion(Base):
    """Every retention policy the vault has had; the highest version is in force."""

    __tablename__ = "retention_policy"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)


class LegalHold(UUIDPrimaryKey, Base):
    __tablename__ = "legal_hold"

    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("evidence_item.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    reference: Mapped[str] = mapped_column(String(200))  # court order, case number, …
    placed_by: Mapped[str] = mapped_column(String(100))
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    released_by: Mapped[str | None] = mapped_column(String(100))
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    release_reason: Mapped[str | None] = mapped_column(Text)


class BatchStatus(enum.StrEnum):
    APPRAISED = "appraised"  # decisions recorded; destruction awaits the principal
    KEPT = "kept"  # every item kept: nothing to approve
    APPROVED = "approved"  # the principal approved destruction
    REFUSED = "refused"  # the principal refused: the items stay
    EXECUTING = "executing"  # deletion started (re-running resumes it)
    DESTROYED = "destroyed"  # register signed and stored, items are tombstones


class AppraisalBatch(UUIDPrimaryKey, Base):
    __tablename__ = "appraisal_batch"

    number: Mapped[str] = mapped_column(String(40), unique=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    members: Mapped[list[str]] = mapped_column(JSON)  # the appraisal group
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(100))  # the principal
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)
    supervisor: Mapped[str | None] = mapped_column(String(100))
    supervised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    executor: Mapped[str | None] = mapped_column(String(100))
    executed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    register_digest: Mapped[str | None] = mapped_column(String(64))
    register_size: Mapped[int | None] = mapped_column(BigInteger)

    decisions: Mapped[list[AppraisalDecision]] = relationship(
        back_populates="batch", order_by="AppraisalDecision.position"
    )


class AppraisalDecision(UUIDPrimaryKey, Base):
    __tablename__ = "appraisal_decision"

    batch_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("appraisal_batch.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("evidence_item.id"), index=True)
    decision: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text)
    keep_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the group saw: the item must be the same when it is destroyed.
    retain_until_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    digest_seen: Mapped[str] = mapped_column(String(64))
    appraised_seq: Mapped[int] = mapped_column(BigInteger)

    batch: Mapped[AppraisalBatch] = relationship(back_populates="decisions")

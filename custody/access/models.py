"""Access requests: who asked for which recordings, why, for how long, and who decided."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from custody.access.purposes import Purpose as Purpose  # noqa: PLC0414 - re-exported
from custody.access.purposes import RequesterKind as RequesterKind  # noqa: PLC0414 - re-exported
from custody.access.purposes import RequestStatus as RequestStatus  # noqa: PLC0414 - re-exported
from vault.db import Base, UTCDateTime, UUIDPrimaryKey, utcnow
from vault.models import EvidenceItem, User


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=30, values_callable=lambda e: [m.value for m in e])


class AccessRequest(UUIDPrimaryKey, Base):
    __tablename__ = "access_request"

    number: Mapped[str] = mapped_column(String(40), unique=True)
    requester_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"), index=True)
    purpose: Mapped[Purpose] = mapped_column(_enum(Purpose))
    reason: Mapped[str] = mapped_column(Text)
    period_days: Mapped[int] = mapped_column(Integer)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Who the recordings are for, when not the investigator's own unit, and their papers:
    # letter number, lawyer's licence or court filing certificate, identity document.
    requester_kind: Mapped[RequesterKind] = mapped_column(_enum(RequesterKind))
    organisation: Mapped[str] = mapped_column(String(200), default="")
    document_ref: Mapped[str] = mapped_column(String(200), default="")
    identity_ref: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[RequestStatus] = mapped_column(_enum(RequestStatus), index=True)
    decided_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    requester: Mapped[User] = relationship(foreign_keys=[requester_id], lazy="joined")
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id], lazy="joined")
    items: Mapped[list[EvidenceItem]] = relationship(secondary="access_request_item")


class AccessRequestItem(Base):
    __tablename__ = "access_request_item"

    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("access_request.id"), primary_key=True)
    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("evidence_item.id"), primary_key=True)

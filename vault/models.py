"""Core records: stations, devices, cases and evidence items."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Enum,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vault.db import Base, UTCDateTime, UUIDPrimaryKey, utcnow
from vault.roles import CaseFlag as CaseFlag  # noqa: PLC0414 - re-exported
from vault.roles import Role as Role  # noqa: PLC0414 - re-exported
from vault.statuses import ItemStatus as ItemStatus  # noqa: PLC0414 - re-exported
from vault.statuses import MediaStatus as MediaStatus  # noqa: PLC0414 - re-exported
from vault.statuses import ScanStatus as ScanStatus  # noqa: PLC0414 - re-exported


class Station(UUIDPrimaryKey, Base):
    __tablename__ = "station"

    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    location: Mapped[str] = mapped_column(String(200), default="")
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Station health, from the scans: the last listing that worked, the last failure, and
    # free space where the protocol tells it (a mounted share does; FTP and SFTP do not).
    last_contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    free_bytes: Mapped[int | None] = mapped_column(BigInteger)


class Device(UUIDPrimaryKey, Base):
    __tablename__ = "device"

    serial: Mapped[str] = mapped_column(String(100), unique=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Case(UUIDPrimaryKey, Base):
    __tablename__ = "case_file"  # "case" is a reserved word in SQL

    number: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(500), default="")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What retention rules will look at (issue 6): e.g. major case, litigation, complaint.
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)

    items: Mapped[list[EvidenceItem]] = relationship(back_populates="case")


class EvidenceItem(UUIDPrimaryKey, Base):
    __tablename__ = "evidence_item"

    # Lower-case hex SHA-256 of the original bytes: the item's identity and both objects' key.
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(100))
    # Display-safe name (undecodable bytes escaped); the exact bytes are kept beside it.
    original_name: Mapped[str] = mapped_column(Text)
    original_name_raw: Mapped[bytes] = mapped_column(LargeBinary)
    station_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("station.id"), index=True)
    device_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("device.id"), index=True)
    officer: Mapped[str | None] = mapped_column(String(100), index=True)
    recorded_start: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    recorded_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int | None] = mapped_column(BigInteger)
    docked_at: Mapped[datetime] = mapped_column(UTCDateTime)  # first seen on its station
    # The earlier bound of docking: the last listing of the station that did not show it.
    docked_after: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ingested_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    media_status: Mapped[MediaStatus] = mapped_column(
        Enum(
            MediaStatus,
            native_enum=False,
            length=20,
            values_callable=lambda e: [m.value for m in e],
        )
    )
    probe: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    probe_error: Mapped[str | None] = mapped_column(Text)
    # Sidecar metadata as the station supplied it (after validation).
    station_metadata: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    sealed_locator: Mapped[str] = mapped_column(Text)
    access_locator: Mapped[str] = mapped_column(Text)
    # End of retention as locked on the sealed object; None means permanent. Only ever grows.
    retain_until: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("case_file.id"), index=True)
    # The retention rule that set retain_until (e.g. "case_evidence"), with its basis.
    retention_rule: Mapped[str | None] = mapped_column(String(40))
    retention_basis: Mapped[str | None] = mapped_column(Text)
    # Categories that retention rules read (obstruction, mass_incident, major_emergency, …).
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[ItemStatus] = mapped_column(
        Enum(
            ItemStatus, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e]
        ),
        default=ItemStatus.PRESERVED,
        index=True,
    )
    scan_status: Mapped[ScanStatus] = mapped_column(
        Enum(
            ScanStatus, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e]
        ),
        default=ScanStatus.UNSCANNED,
    )
    scan_detail: Mapped[str | None] = mapped_column(Text)  # the signature, or why unscanned
    # Things a custodian must look at, e.g. "station_digest_mismatch".
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Who recorded (custody event virus_override) that an infected item may be handed out.
    scan_released_by: Mapped[str | None] = mapped_column(String(100))

    case: Mapped[Case | None] = relationship(back_populates="items")
    # Every view of an item names its station and device: load them with it.
    station: Mapped[Station] = relationship(lazy="joined")
    device: Mapped[Device | None] = relationship(lazy="joined")


class User(UUIDPrimaryKey, Base):
    __tablename__ = "app_user"  # "user" is reserved in PostgreSQL
    __table_args__ = (
        Index("ix_app_user_identity", "identity_issuer", "identity_subject", unique=True),
    )

    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    # Role values; one person may hold several.
    roles: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Signing in to the web console: an argon2id hash (None: no password, tokens only),
    # failures since the last success, and the end of a lockout.
    password_hash: Mapped[str | None] = mapped_column(String(200))
    failed_signins: Mapped[int] = mapped_column(default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    language: Mapped[str | None] = mapped_column(String(10))  # the console's: zh_CN or en
    # A person who signs in through an OpenID Connect provider: its issuer and their subject
    # there. A local account has neither, and a provider's person never becomes a local
    # account of the same name (nor the other way round).
    identity_issuer: Mapped[str | None] = mapped_column(String(500))
    identity_subject: Mapped[str | None] = mapped_column(String(255))

    def has_any(self, roles: frozenset[Role]) -> bool:
        return bool(roles.intersection(Role(r) for r in self.roles))


class WebSession(UUIDPrimaryKey, Base):
    """A person signed in to the web console. The cookie holds a random secret; only its
    SHA-256 is kept, with the session's CSRF token and where it was opened from."""

    __tablename__ = "web_session"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"), index=True)
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    csrf: Mapped[str] = mapped_column(String(64))
    client: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    user: Mapped[User] = relationship()


class ApiToken(UUIDPrimaryKey, Base):
    __tablename__ = "api_token"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"), index=True)
    # SHA-256 of the token: tokens carry 256 random bits, so a fast hash is enough, and the
    # token itself is shown once and never stored.
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # first characters, to tell tokens apart
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="joined")


class RenditionStatus(enum.StrEnum):
    RUNNING = "running"
    MADE = "made"
    FAILED = "failed"


class Rendition(UUIDPrimaryKey, Base):
    """The standard MP4 made from an item's access copy for viewing (one per item)."""

    __tablename__ = "rendition"

    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("evidence_item.id"), unique=True)
    status: Mapped[RenditionStatus] = mapped_column(
        Enum(
            RenditionStatus,
            native_enum=False,
            length=20,
            values_callable=lambda e: [m.value for m in e],
        ),
        index=True,
    )
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    digest: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column(BigInteger)
    ffmpeg_version: Mapped[str | None] = mapped_column(String(200))
    arguments: Mapped[list[str] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)


class DerivedKind(enum.StrEnum):
    WATERMARKED_COPY = "watermarked_copy"  # a rendition with a delivery's or export's text
    CLIP = "clip"  # a lossless cut of the original, made for an export


class DerivedCopy(UUIDPrimaryKey, Base):
    """A stored object made from an item for one delivery or export (the item's rendition has
    its own table). A row is written as soon as the object is stored, before it is handed to
    anyone, so that fixity checks it and destruction deletes it whatever happens next."""

    __tablename__ = "derived_copy"

    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("evidence_item.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    digest: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    made_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    made_for: Mapped[str] = mapped_column(String(100))  # the request or export number


class ItemSidecar(UUIDPrimaryKey, Base):
    """A station's sidecar file kept with the recording it came with, byte for byte in both
    stores (its digest names the object). A re-docked copy's sidecar is a row of its own."""

    __tablename__ = "item_sidecar"

    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("evidence_item.id"), index=True)
    digest: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(Text)  # as it was named on the station
    station: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    problem: Mapped[str | None] = mapped_column(Text)  # why its metadata was not used

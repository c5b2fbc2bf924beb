"""What the vault has seen on each station: the basis of stability, claiming and the SLA."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Enum, ForeignKey, Integer, LargeBinary, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from vault.db import Base, UTCDateTime, UUIDPrimaryKey


class FileState(enum.StrEnum):
    WAITING = "waiting"  # seen, not yet stable or not yet claimed
    INGESTING = "ingesting"  # claimed by a worker
    INGESTED = "ingested"  # item committed; station copy not yet acknowledged
    ACKNOWLEDGED = "acknowledged"  # moved/deleted on the station (or left, if so configured)
    REJECTED = "rejected"  # cannot be ingested as it is (e.g. zero bytes); left in place
    VANISHED = "vanished"  # disappeared from the station before it was ingested


class StationFile(UUIDPrimaryKey, Base):
    __tablename__ = "station_file"
    __table_args__ = (UniqueConstraint("station_id", "rel_path_raw"),)

    station_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("station.id"), index=True)
    rel_path_raw: Mapped[bytes] = mapped_column(LargeBinary)
    rel_path: Mapped[str] = mapped_column(Text)  # display-safe
    size: Mapped[int] = mapped_column(BigInteger)
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    # Docked-at by the vault's own clock: when a scan first saw the file.
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The last listing of the station before the one that first saw the file: it was docked
    # after this and no later than first_seen_at (None: no earlier listing to bound it).
    docked_after: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def counted_from(self) -> datetime:
        """Where the ingest deadline runs from: the earliest moment it may have docked."""
        return self.docked_after or self.first_seen_at

    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When the vault first saw the file's current size and mtime (its own clock: a station's
    # clock may be years off, so the file's mtime never decides when it has settled).
    unchanged_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stable: Mapped[bool] = mapped_column(default=False)
    state: Mapped[FileState] = mapped_column(
        Enum(
            FileState, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e]
        ),
        index=True,
    )
    claimed_by: Mapped[str | None] = mapped_column(Text)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    item_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("evidence_item.id"))
    ingested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class GapExplanation(UUIDPrimaryKey, Base):
    """Why a device's recording of an incident stopped between two clips (gap_explained)."""

    __tablename__ = "gap_explanation"
    __table_args__ = (UniqueConstraint("before_item_id", "after_item_id"),)

    before_item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("evidence_item.id"), index=True)
    after_item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("evidence_item.id"), index=True)
    cause: Mapped[str] = mapped_column(Text)  # a GapCause value
    text: Mapped[str] = mapped_column(Text)
    explained_by: Mapped[str] = mapped_column(Text)
    explained_at: Mapped[datetime] = mapped_column(UTCDateTime)

"""Rows behind invariant 4: stored Merkle nodes, the log's signing keys, its checkpoints.

Merkle nodes are a cache for fast proofs: verification recomputes the tree from the custody
rows and never trusts them. Private keys are never stored here, only public ones.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vault.db import Base, UTCDateTime


class MerkleNode(Base):
    """The hash of the complete subtree covering leaves [position * 2**level, +2**level)."""

    __tablename__ = "merkle_node"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class SigningKey(Base):
    """A public key the log has signed checkpoints with; old keys stay listed forever."""

    __tablename__ = "signing_key"

    # The signed-note key ID (first 4 bytes of SHA-256(name, 0x0A, 0x01, key)), in hex.
    key_id: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    algorithm: Mapped[str] = mapped_column(String(20))
    public_key: Mapped[bytes] = mapped_column(LargeBinary(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Checkpoint(Base):
    """A signed note over (origin, tree size, root hash, time), optionally timestamped."""

    __tablename__ = "checkpoint"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tree_size: Mapped[int] = mapped_column(BigInteger, index=True)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text)
    key_id: Mapped[str] = mapped_column(ForeignKey("signing_key.key_id"))
    # DER RFC 3161 TimeStampToken over SHA-256(note), when a TSA is configured.
    timestamp_token: Mapped[bytes | None] = mapped_column(LargeBinary)
    sealed_digest: Mapped[str | None] = mapped_column(String(64))
    # A renewal re-signs an older checkpoint's tree head under the current key.
    renews_id: Mapped[int | None] = mapped_column(ForeignKey("checkpoint.id"))

"""Canonical custody events and chain hashing: pure functions, no I/O.

Event = RFC 8785 (JCS) canonical JSON of {seq, item, kind, actor, at, reason, data}.
entry_hash = SHA-256(0x02 || prev_hash || jcs(event)); the first entry of an item has
prev_hash = 32 zero bytes. 0x00 and 0x01 are reserved for Merkle leaves and nodes.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

import rfc8785

from vault.errors import VerificationError

CHAIN_PREFIX = b"\x02"
GENESIS_HASH = bytes(32)
HASH_LEN = 32


def format_time(at: datetime) -> str:
    """Fixed-width UTC with microseconds, so the same instant always serialises the same."""
    if at.tzinfo is None:
        raise ValueError("custody times must be timezone-aware")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _reject_floats(value: Any, path: str = "data") -> None:
    # Floats do not survive every database's JSON round trip bit-for-bit; a custody entry
    # whose hash cannot be recomputed is worse than useless, so they are refused outright.
    if isinstance(value, float):
        raise ValueError(f"{path} is a float; custody data holds integers and strings only")
    if isinstance(value, dict):
        for key, inner in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{path} has a non-string key {key!r}")
            _reject_floats(inner, f"{path}.{key}")
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            _reject_floats(inner, f"{path}[{index}]")


def event_document(
    *,
    seq: int,
    item: uuid.UUID,
    kind: str,
    actor: str,
    at: datetime,
    reason: str | None,
    data: dict[str, Any],
) -> dict[str, Any]:
    _reject_floats(data)
    return {
        "seq": seq,
        "item": str(item),
        "kind": kind,
        "actor": actor,
        "at": format_time(at),
        "reason": reason,
        "data": data,
    }


def canonical_bytes(document: dict[str, Any]) -> bytes:
    return rfc8785.dumps(document)


def entry_hash(*, prev_hash: bytes, document: dict[str, Any]) -> bytes:
    return chain_hash(prev_hash=prev_hash, canonical=canonical_bytes(document))


def chain_hash(*, prev_hash: bytes, canonical: bytes) -> bytes:
    """entry_hash from the event's canonical bytes (which are also its Merkle leaf)."""
    if len(prev_hash) != HASH_LEN:
        raise VerificationError(f"prev_hash must be {HASH_LEN} bytes, got {len(prev_hash)}")
    return hashlib.sha256(CHAIN_PREFIX + prev_hash + canonical).digest()

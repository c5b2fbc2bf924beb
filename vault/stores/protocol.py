"""The object store Protocol of DESIGN.md: content-addressed by SHA-256, write-once."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, Protocol, runtime_checkable

SHA256_HEX_LEN = 64


@dataclass(frozen=True)
class StoredObject:
    digest: str
    size: int
    locator: str
    # False when the store already held these exact bytes (a retry or a re-dock).
    created: bool = True


@dataclass(frozen=True)
class Retention:
    """How long a stored object must stay: until a date, or permanently (``until`` None).

    A permanent object, or one under legal hold, carries an S3 legal hold; a plain retention
    carries a retain-until date that can be pushed later but never earlier.
    """

    until: datetime | None
    hold: bool = False

    @property
    def needs_hold(self) -> bool:
        return self.hold or self.until is None


@dataclass(frozen=True)
class DestructionOrder:
    """The only thing that lets a store delete: built by the destruction workflow, per object."""

    digest: str
    register_entry: str


@runtime_checkable
class ObjectStore(Protocol):
    name: str

    def put(
        self,
        chunks: Iterable[bytes],
        *,
        retention: Retention | None = None,
        expected_digest: str | None = None,
    ) -> StoredObject:
        """Stream bytes in, hash them on the way, store them under their digest. Never
        overwrites: if the digest is already present, its content is checked instead.

        ``retention`` is applied before the call returns (never shortening one already set).
        With ``expected_digest`` the store refuses to keep bytes that hash differently.
        """
        ...

    def restore(
        self, digest: str, chunks: Iterable[bytes], *, retention: Retention | None = None
    ) -> StoredObject:
        """Fixity repair only: put back the exact bytes of an object found damaged or missing.

        Refused (Conflict) while the stored object is intact, and (IntegrityViolation) when
        the bytes sent hash differently. On S3 this writes a new version; the damaged one
        stays (a locked version cannot be replaced), and a bucket that refuses new versions
        raises RetentionViolation: a person must act.
        """
        ...

    def open(self, digest: str, *, locator: str | None = None) -> BinaryIO:
        """Read an object. With ``locator`` (as recorded when it was stored) a versioned
        store reads exactly that version, never whatever was placed over it since; a
        recorded version that is gone is NotFound."""
        ...

    def overlays(self, digest: str, *, locator: str) -> list[str]:
        """What was placed over the recorded version since it was stored (newer versions,
        delete markers), each said in words with its time; empty when nothing was."""
        ...

    def stat(self, digest: str) -> StoredObject: ...

    def exists(self, digest: str) -> bool: ...

    def set_retention(self, digest: str, *, until: datetime | None, hold: bool) -> None:
        """Extend retention or place/release a legal hold. Shortening raises
        RetentionViolation (on S3 the server itself refuses)."""
        ...

    def retention(self, digest: str, *, locator: str | None = None) -> Retention | None:
        """The retention the store enforces for an object (for the recorded version when
        ``locator`` is given), or None if it enforces none."""
        ...

    def list_objects(self) -> list[tuple[str, int]]:
        """Every object held: (digest, size), sorted by digest."""
        ...

    def delete(self, digest: str, *, order: DestructionOrder) -> None:
        """Remove an object for the destruction workflow; refused while retention or a hold
        is in force."""
        ...

    def media_source(self, digest: str, *, locator: str | None = None) -> str:
        """Where ffmpeg can read an object for a system job (a path, or a short-lived
        presigned URL). Never handed to a person: people get bytes through delivery."""
        ...

    def remove_stale_temps(self) -> int:
        """Clean up partial uploads left by writers that died; returns how many."""
        ...

    def location(self) -> str:
        """Where the store lives, for messages and the shared-device check."""
        ...


def validate_digest(digest: str) -> str:
    if len(digest) != SHA256_HEX_LEN or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError(f"not a lower-case hex SHA-256 digest: {digest!r}")
    return digest


def read_chunks(stream: BinaryIO, chunk_size: int) -> Iterator[bytes]:
    while chunk := stream.read(chunk_size):
        yield chunk


def read_document(store: ObjectStore, digest: str, *, limit: int) -> bytes:
    """The bytes of a small object the vault wrote itself (a checkpoint note), for
    verification: never evidence, and never more than ``limit`` bytes."""
    with store.open(digest) as stream:
        return stream.read(limit + 1)[:limit]


def rehash(
    store: ObjectStore, digest: str, *, chunk_size: int = 1024 * 1024, locator: str | None = None
) -> tuple[str, int]:
    """Read an object back in full (the recorded version when ``locator`` is given) and
    return (actual digest, actual size)."""
    hasher = hashlib.sha256()
    size = 0
    with store.open(digest, locator=locator) as stream:
        for chunk in read_chunks(stream, chunk_size):
            hasher.update(chunk)
            size += len(chunk)
    return hasher.hexdigest(), size

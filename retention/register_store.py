"""Reading a destruction register back: the one place that opens the sealed store for a
document (never for evidence), and only for the register a destroyed batch names."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from sqlalchemy.orm import Session

from retention.appraisal import find_batch
from vault.errors import IntegrityViolation, NotFound
from vault.stores.factory import Stores
from vault.stores.protocol import read_chunks


def register_digest(session: Session, number: str) -> str:
    digest = find_batch(session, number).register_digest
    if digest is None:
        raise NotFound(f"batch {number} has no register: it was not destroyed")
    return digest


def register_chunks(stores: Stores, digest: str, *, chunk_size: int) -> Iterator[bytes]:
    """The register's bytes, re-hashed on the way: a mismatch raises before the last chunk."""
    hasher = hashlib.sha256()
    with stores.sealed.open(digest) as source:
        pending: bytes | None = None
        for chunk in read_chunks(source, chunk_size):
            if pending is not None:
                yield pending
            hasher.update(chunk)
            pending = chunk
        if hasher.hexdigest() != digest:
            raise IntegrityViolation(f"the stored register {digest} was altered")
        if pending is not None:
            yield pending

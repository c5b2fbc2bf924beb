"""The log's Ed25519 signing keys: private keys in files (mode 0600), public keys in the database.

One key is current; `evault key rotate` makes a new one current and retires the old, whose
public key stays listed so every checkpoint it signed can still be verified.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from custody.log.append import lock_log_head
from custody.log.proof_models import SigningKey
from custody.log.signed_note import key_id
from vault.db import utcnow
from vault.errors import ConfigurationError, IntegrityViolation

ALGORITHM = "ed25519"


def log_origin(session: Session, configured: str | None) -> str:
    """The log's origin: fixed at first use, from settings or a random id."""
    head = lock_log_head(session)
    if head.origin is None:
        head.origin = configured or f"evidence-vault/{uuid.uuid4().hex[:12]}"
        session.flush()
    elif configured is not None and configured != head.origin:
        raise ConfigurationError(
            f"log_origin is set to {configured!r}, but this log signs as {head.origin!r}"
            " since its first checkpoint; a log's origin cannot change"
        )
    return head.origin


def key_file(keys_dir: Path, hex_id: str) -> Path:
    return keys_dir / f"checkpoint-{hex_id}.pem"


def generate_key(session: Session, keys_dir: Path, *, name: str) -> SigningKey:
    """A new current key; the previous current key (if any) is retired, never deleted."""
    private = Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes_raw()
    hex_id = key_id(name, public).hex()
    keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # O_EXCL: never overwrite a key file; 0600 from the start, not chmod after writing.
    fd = os.open(key_file(keys_dir, hex_id), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
        handle.flush()
        os.fsync(handle.fileno())
    now = utcnow()
    for old in session.execute(select(SigningKey).where(SigningKey.retired_at.is_(None))).scalars():
        old.retired_at = now
    row = SigningKey(
        key_id=hex_id, name=name, algorithm=ALGORITHM, public_key=public, created_at=now
    )
    session.add(row)
    session.flush()
    return row


def current_key(session: Session, keys_dir: Path) -> tuple[SigningKey, Ed25519PrivateKey] | None:
    row = session.execute(
        select(SigningKey)
        .where(SigningKey.retired_at.is_(None))
        .order_by(SigningKey.created_at.desc())
    ).scalar_one_or_none()
    if row is None:
        return None
    path = key_file(keys_dir, row.key_id)
    try:
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise ConfigurationError(
            f"signing key {row.key_id} is missing from {keys_dir}: restore it from backup,"
            " or `evault key rotate` to start signing with a new key"
        ) from None
    if not isinstance(loaded, Ed25519PrivateKey):
        raise ConfigurationError(f"{path} is not an Ed25519 key")
    if loaded.public_key().public_bytes_raw() != bytes(row.public_key):
        raise IntegrityViolation(f"{path} does not match the public key recorded for it")
    return row, loaded


def ensure_key(
    session: Session, keys_dir: Path, *, configured_origin: str | None
) -> tuple[SigningKey, Ed25519PrivateKey]:
    found = current_key(session, keys_dir)
    if found is not None:
        return found
    origin = log_origin(session, configured_origin)
    generate_key(session, keys_dir, name=origin)
    created = current_key(session, keys_dir)
    assert created is not None
    return created


def rotate_key(session: Session, keys_dir: Path, *, configured_origin: str | None) -> SigningKey:
    return generate_key(session, keys_dir, name=log_origin(session, configured_origin))


def known_keys(session: Session) -> dict[str, tuple[str, bytes]]:
    """Every public key the log has used: hex key ID -> (name, public key)."""
    rows = session.execute(select(SigningKey)).scalars()
    return {r.key_id: (r.name, bytes(r.public_key)) for r in rows}


def list_keys(session: Session) -> list[SigningKey]:
    return list(session.execute(select(SigningKey).order_by(SigningKey.created_at)).scalars())

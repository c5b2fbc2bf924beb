"""RFC 3161 time-stamp tokens over checkpoint notes, through pyHanko.

A token is independent evidence that a checkpoint existed at a time, from a party that is
not the vault. It is fetched after the checkpoint is committed (a slow or absent TSA never
holds up the log) and kept in the database, then in the sealed store with its note
(checkpoints.seal_pending); checkpoints still without one are stamped on the next run.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from datetime import datetime
from pathlib import Path

from asn1crypto import cms, pem, x509
from sqlalchemy import select

from config.settings import Settings
from custody.log.proof_models import Checkpoint
from vault.db import SessionFactory, unit_of_work
from vault.errors import ConfigurationError, StoreError, VerificationError

log = logging.getLogger(__name__)


def fetch_token(url: str, data: bytes, *, timeout: float = 30) -> bytes:
    """DER TimeStampToken (CMS ContentInfo) over SHA-256(data)."""
    # pyHanko (and aiohttp under it) is imported only where a token is fetched or checked:
    # every `evault` process would otherwise pay for it at start-up.
    from pyhanko.sign.timestamps import HTTPTimeStamper  # noqa: PLC0415

    stamper = HTTPTimeStamper(url, timeout=int(timeout))
    try:
        token = asyncio.run(stamper.async_timestamp(hashlib.sha256(data).digest(), "sha256"))
    except Exception as exc:  # pyHanko raises aiohttp's and its own errors alike
        raise StoreError(f"time-stamping authority {url} did not answer: {exc}") from exc
    return bytes(token.dump())


def load_trust_roots(paths: list[Path]) -> list[x509.Certificate]:
    roots: list[x509.Certificate] = []
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ConfigurationError(f"TSA trust root {path}: {exc.strerror}") from exc
        if pem.detect(data):
            roots.extend(x509.Certificate.load(der) for _, _, der in pem.unarmor(data, True))
        else:
            roots.append(x509.Certificate.load(data))
    return roots


def check_token(token: bytes, data: bytes, roots: list[x509.Certificate]) -> datetime:
    """The time the token vouches for; raises VerificationError if it is not a valid token
    over ``data`` from a TSA that chains to ``roots``."""
    from pyhanko.sign.validation.generic_cms import validate_tst_signed_data  # noqa: PLC0415
    from pyhanko_certvalidator import ValidationContext  # noqa: PLC0415

    try:
        signed = cms.ContentInfo.load(token)["content"]
        context = ValidationContext(trust_roots=roots, allow_fetching=False)
        status = asyncio.run(
            validate_tst_signed_data(
                signed, context, lambda algorithm: hashlib.new(algorithm, data).digest()
            )
        )
    except VerificationError:
        raise
    except Exception as exc:  # malformed DER or an imprint for other bytes
        raise VerificationError(f"time-stamp token cannot be validated: {exc}") from exc
    if not status["intact"] or not status["valid"]:
        raise VerificationError("time-stamp token's signature does not verify over this note")
    if status.get("trust_problem_indic") is not None or status.get("validation_path") is None:
        raise VerificationError("time-stamp token is not from a trusted TSA (tsa_trust_roots)")
    when: datetime = status["timestamp"]
    return when


def stamp_if_configured(factory: SessionFactory, settings: Settings) -> int:
    """Stamp what is pending when a TSA is configured; 0 when none is."""
    if settings.tsa_url is None:
        return 0
    return stamp_pending(factory, url=settings.tsa_url, timeout=settings.tsa_timeout_seconds)


def stamp_pending(factory: SessionFactory, *, url: str, timeout: float = 30) -> int:
    """Fetch a token for every checkpoint without one; returns how many were stamped."""
    with unit_of_work(factory, read_only=True) as session:
        pending = session.execute(
            select(Checkpoint.id, Checkpoint.note).where(Checkpoint.timestamp_token.is_(None))
        ).all()
    stamped = 0
    for checkpoint_id, note in pending:
        token = fetch_token(url, note.encode(), timeout=timeout)
        with unit_of_work(factory) as session:
            row = session.get(Checkpoint, checkpoint_id)
            assert row is not None
            row.timestamp_token = token
            row.sealed_digest = None  # to be kept again, now with its token: seal_pending
        log.info("checkpoint time-stamped", extra={"checkpoint": checkpoint_id})
        stamped += 1
    return stamped

"""Signed checkpoints of the custody log: create, renew, export for witnesses.

Before signing, the new tree head is proven consistent with the latest checkpoint from the
stored tree: the vault refuses to sign a log that no longer extends what it signed before.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.settings import Settings
from custody.admin.log import admin_head
from custody.log.append import lock_log_head
from custody.log.keys import ensure_key, known_keys, log_origin
from custody.log.merkle import verify_consistency
from custody.log.merkle_store import stored_consistency_proof, stored_root
from custody.log.proof_models import Checkpoint
from custody.log.signed_note import (
    CheckpointBody,
    add_signature,
    parse_checkpoint,
    sign_note,
    split_note,
    verifier_key,
    verify_note,
)
from custody.log.timestamps import stamp_if_configured
from vault.db import SessionFactory, unit_of_work, utcnow
from vault.errors import IntegrityViolation, NotFound, StoreError, VerificationError
from vault.stores.protocol import ObjectStore, Retention

WITNESS_FORMAT = "evidence-vault/witness-file/v1"


def latest_checkpoint(session: Session) -> Checkpoint | None:
    return session.execute(
        select(Checkpoint).order_by(Checkpoint.tree_size.desc(), Checkpoint.id.desc()).limit(1)
    ).scalar_one_or_none()


def all_checkpoints(session: Session) -> list[Checkpoint]:
    return list(
        session.execute(select(Checkpoint).order_by(Checkpoint.tree_size, Checkpoint.id)).scalars()
    )


def recent_checkpoints(session: Session, *, limit: int, offset: int = 0) -> list[Checkpoint]:
    """Newest first: what an auditor's page lists and offers to prove into."""
    return list(
        session.execute(
            select(Checkpoint)
            .order_by(Checkpoint.tree_size.desc(), Checkpoint.id.desc())
            .limit(limit)
            .offset(offset)
        ).scalars()
    )


def find_checkpoint(session: Session, checkpoint_id: int) -> Checkpoint:
    found = session.get(Checkpoint, checkpoint_id)
    if found is None:
        raise NotFound(f"no checkpoint {checkpoint_id}")
    return found


def seal_pending(factory: SessionFactory, sealed: ObjectStore) -> int:
    """Keep in the sealed store (forever: legal hold) each checkpoint not kept there yet, with
    its time-stamp token; returns how many.

    Done after the checkpoint commits, never before: a note stored for a transaction that
    then failed would be an orphan no one may delete. A crash in between leaves the row
    pending, and the next run stores it.
    """
    with unit_of_work(factory, read_only=True) as session:
        pending = session.execute(
            select(Checkpoint.id, Checkpoint.note, Checkpoint.timestamp_token).where(
                Checkpoint.sealed_digest.is_(None)
            )
        ).all()
    forever = Retention(until=None, hold=True)
    for checkpoint_id, note, token in pending:
        stored = sealed.put(iter([note.encode()]), retention=forever)
        if token is not None:
            sealed.put(iter([bytes(token)]), retention=forever)
        with unit_of_work(factory) as session:
            row = session.get(Checkpoint, checkpoint_id)
            assert row is not None
            row.sealed_digest = stored.digest
    return len(pending)


def keep_checkpoints_sealed(factory: SessionFactory, sealed: ObjectStore) -> list[str]:
    """Each sealed checkpoint note and time-stamp token: still there, with its forever lock
    renewed when due; one that is gone is put back from the database's copy, but only when
    that copy still verifies (its signature by a log key, its row, its digest). Returns what
    was found wrong, in words."""
    forever = Retention(until=None, hold=True)
    said: list[str] = []
    with unit_of_work(factory, read_only=True) as session:
        keys = known_keys(session)
        rows = session.execute(
            select(Checkpoint.id, Checkpoint.tree_size, Checkpoint.root_hash, Checkpoint.note,
                   Checkpoint.sealed_digest, Checkpoint.timestamp_token)
            .where(Checkpoint.sealed_digest.is_not(None))
        ).all()  # fmt: skip
    for checkpoint_id, size, root, note, digest, token in rows:
        kept: list[tuple[str, bytes, str]] = [
            (f"checkpoint {checkpoint_id}", note.encode(), str(digest))  # not None: filtered
        ]
        if token is not None:
            token_bytes = bytes(token)
            kept.append((f"checkpoint {checkpoint_id}'s time stamp", token_bytes,
                         hashlib.sha256(token_bytes).hexdigest()))  # fmt: skip
        for label, content, want in kept:
            if sealed.exists(want):
                sealed.set_retention(want, until=None, hold=True)
                continue
            problem = _unverifiable(note, size, bytes(root), keys) or (
                None
                if hashlib.sha256(content).hexdigest() == want
                else "its database copy no longer hashes to the recorded digest"
            )
            if problem is not None:
                said.append(f"{label}'s sealed copy is gone and cannot be put back: {problem}")
                continue
            sealed.put(iter([content]), retention=forever, expected_digest=want)
            said.append(f"{label}'s sealed copy was gone: put back from the database's copy,"
                        " whose signature verifies")  # fmt: skip
    return said


def _unverifiable(
    note: str, size: int, root: bytes, keys: dict[str, tuple[str, bytes]]
) -> str | None:
    try:
        body = parse_checkpoint(verify_note(note, keys)[0])
    except VerificationError as exc:
        return f"its database copy does not verify ({exc})"
    if body.size != size or body.root != root:
        return "its database row no longer matches its signed note"
    return None


def create_checkpoint(
    session: Session, settings: Settings, *, force: bool = False
) -> Checkpoint | None:
    """Sign the current tree head; None for an empty log or one unchanged since the latest
    checkpoint (unless ``force``)."""
    # The log-head lock: one checkpoint at a time across daemons, of a size no append moves.
    head = lock_log_head(session)
    size = head.last_seq
    latest = latest_checkpoint(session)
    admin = admin_head(session)
    unchanged = (
        latest is not None
        and latest.tree_size == size
        and parse_checkpoint(split_note(latest.note)[0]).admin == admin
    )
    if size == 0 or (unchanged and not force):
        return None  # an empty log commits to nothing; an unchanged one is signed already
    root = stored_root(session, size)
    if latest is not None:
        old = latest.tree_size
        try:
            proof = (
                stored_consistency_proof(session, old_size=old, new_size=size)
                if 0 < old < size
                else []
            )
            verify_consistency(old, size, bytes(latest.root_hash), root, proof)
        except (VerificationError, IntegrityViolation) as exc:
            raise IntegrityViolation(
                f"refusing to sign: the log is not an extension of checkpoint {latest.id}"
                f" (size {latest.tree_size}): {exc}. Run `evault audit verify`."
            ) from exc
    key_row, key = ensure_key(session, settings.keys_path, configured_origin=settings.log_origin)
    origin = log_origin(session, settings.log_origin)
    now = utcnow()
    body = CheckpointBody(origin, size, root, now, admin)
    note = sign_note(body.text(), name=key_row.name, key=key)
    checkpoint = Checkpoint(
        tree_size=size,
        root_hash=root,
        created_at=now,
        note=note,
        key_id=key_row.key_id,
    )
    session.add(checkpoint)
    session.flush()
    return checkpoint


def renew_checkpoint(session: Session, settings: Settings) -> Checkpoint:
    """Re-sign the latest checkpoint's tree head under the current key (after a rotation, or
    before an algorithm or certificate ages out); the old signatures stay on the note."""
    latest = latest_checkpoint(session)
    if latest is None:
        raise NotFound("there is no checkpoint to renew yet: run `evault checkpoint`")
    key_row, key = ensure_key(session, settings.keys_path, configured_origin=settings.log_origin)
    _, signatures = split_note(latest.note)
    if any(blob[:4].hex() == key_row.key_id for _, blob in signatures):
        note = latest.note  # already signed by the current key: a renewal only re-timestamps
    else:
        note = add_signature(latest.note, name=key_row.name, key=key)
    renewed = Checkpoint(
        tree_size=latest.tree_size,
        root_hash=latest.root_hash,
        created_at=utcnow(),
        note=note,
        key_id=key_row.key_id,
        renews_id=latest.id,
    )
    session.add(renewed)
    session.flush()
    return renewed


@dataclass(frozen=True)
class CheckpointRun:
    """What one checkpoint run did (the daemon's job, or `evault checkpoint [renew]`)."""

    made: Checkpoint | None
    stamped: int
    sealed: int
    tsa_error: str | None


def run_checkpoint_job(
    factory: SessionFactory,
    settings: Settings,
    sealed: ObjectStore,
    *,
    force: bool = False,
    renew: bool = False,
) -> CheckpointRun:
    """Sign (or renew) in a unit of its own, then time-stamp and seal whatever is pending.

    A TSA that is down is reported, not raised: the checkpoint is signed and kept, and the
    token is fetched on the next run.
    """
    with unit_of_work(factory) as session:
        made = (
            renew_checkpoint(session, settings)
            if renew
            else create_checkpoint(session, settings, force=force)
        )
    tsa_error, stamped = None, 0
    try:
        stamped = stamp_if_configured(factory, settings)
    except StoreError as exc:
        tsa_error = str(exc)
    return CheckpointRun(made, stamped, seal_pending(factory, sealed), tsa_error)


@dataclass(frozen=True)
class WitnessFile:
    """What an outside party keeps: a checkpoint note and the keys that may have signed it."""

    note: str
    verifier_keys: list[str]

    def to_json(self) -> str:
        document: dict[str, Any] = {
            "format": WITNESS_FORMAT,
            "checkpoint": self.note,
            "verifier_keys": self.verifier_keys,
        }
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> WitnessFile:
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not a witness file: {exc}") from exc
        if not isinstance(document, dict) or document.get("format") != WITNESS_FORMAT:
            raise ValueError(f"not a witness file (format must be {WITNESS_FORMAT})")
        note, keys = document.get("checkpoint"), document.get("verifier_keys")
        if not isinstance(note, str) or not isinstance(keys, list):
            raise ValueError("witness file needs a checkpoint and verifier_keys")
        return cls(note, [str(k) for k in keys])


def export_witness(session: Session) -> WitnessFile:
    latest = latest_checkpoint(session)
    if latest is None:
        raise NotFound("there is no checkpoint to export yet: run `evault checkpoint`")
    keys = [verifier_key(name, public) for name, public in known_keys(session).values()]
    return WitnessFile(latest.note, sorted(keys))

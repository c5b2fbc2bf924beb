"""Invariant 4 beyond the chains: the Merkle tree recomputed from the raw entries, every
checkpoint's signature and root, consistency between checkpoints, and (optionally) a
checkpoint an outside party kept. Stored nodes and rows are checked, never trusted."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Mapping

from sqlalchemy.orm import Session

from custody.canonical import VerificationError
from custody.chain_check import Finding
from custody.checkpoints import WitnessFile, all_checkpoints
from custody.keys import known_keys
from custody.merkle import TreeBuilder, verify_consistency
from custody.merkle_store import stored_consistency_proof, stored_root
from custody.proof_models import Checkpoint
from custody.signed_note import CheckpointBody, parse_checkpoint, parse_verifier_key, verify_note
from vault.errors import IntegrityViolation, NotFound, StoreError
from vault.stores.protocol import ObjectStore, rehash


def _log(message: str) -> Finding:
    return Finding(None, None, message)


def recompute_roots(leaves: Mapping[int, bytes], sizes: set[int]) -> tuple[int, dict[int, bytes]]:
    """Stream the leaves in seq order; the root at each wanted size, and how far it got."""
    builder, roots = TreeBuilder(), {}
    if 0 in sizes:
        roots[0] = builder.root()
    last = max(sizes, default=0)
    while builder.size < last:
        leaf = leaves.get(builder.size + 1)
        if leaf is None:
            break  # a gap: check_sequence names it; nothing beyond it can be recomputed
        builder.append(leaf)
        if builder.size in sizes:
            roots[builder.size] = builder.root()
    return builder.size, roots


def _signed_body(checkpoint: Checkpoint, keys: dict[str, tuple[str, bytes]]) -> CheckpointBody:
    text, _ = verify_note(checkpoint.note, keys)
    body = parse_checkpoint(text)
    if body.size != checkpoint.tree_size or body.root != bytes(checkpoint.root_hash):
        raise VerificationError(
            f"its row says size {checkpoint.tree_size}, its signed note size {body.size} with"
            " another root (the row was edited)"
        )
    return body


def _against_log(
    label: str, body: CheckpointBody, reached: int, roots: Mapping[int, bytes]
) -> list[Finding]:
    if body.size > reached:
        return [
            _log(
                f"{label} signed a log of {body.size} entries at {body.time:%Y-%m-%d %H:%M}Z,"
                f" but the log holds only {reached} readable entries from seq 1 (truncated)"
            )
        ]
    if roots.get(body.size) != body.root:
        return [
            _log(
                f"{label} signed the first {body.size} entries at {body.time:%Y-%m-%d %H:%M}Z,"
                " and the entries now stored under those seqs hash to another root: history"
                " was rewritten after it was signed"
            )
        ]
    return []


def _check_sealed_copy(checkpoint: Checkpoint, sealed: ObjectStore) -> list[Finding]:
    """The copy kept in the sealed store must hold exactly the note."""
    label = f"checkpoint {checkpoint.id}'s sealed copy"
    if checkpoint.sealed_digest is None:
        return [_log(f"checkpoint {checkpoint.id} has no sealed copy")]
    if hashlib.sha256(checkpoint.note.encode()).hexdigest() != checkpoint.sealed_digest:
        return [_log(f"{label} is not of this note: the note or its row was edited")]
    try:
        actual, _ = rehash(sealed, checkpoint.sealed_digest)
    except NotFound:
        return [_log(f"{label} is missing")]
    except StoreError as exc:
        return [_log(f"{label} cannot be read: {exc}")]
    if actual != checkpoint.sealed_digest:
        return [_log(f"{label} was altered: it hashes to {actual[:16]}…")]
    return []


def check_checkpoints(
    session: Session,
    leaves: Mapping[int, bytes],
    log_size: int,
    *,
    sealed: ObjectStore,
    witness: WitnessFile | None = None,
) -> list[Finding]:
    checkpoints = all_checkpoints(session)
    keys = known_keys(session)
    findings: list[Finding] = []
    for checkpoint in checkpoints:
        findings.extend(_check_sealed_copy(checkpoint, sealed))
    bodies: list[tuple[Checkpoint, CheckpointBody]] = []
    for checkpoint in checkpoints:
        try:
            bodies.append((checkpoint, _signed_body(checkpoint, keys)))
        except VerificationError as exc:
            findings.append(_log(f"checkpoint {checkpoint.id} is forged or altered: {exc}"))
    witnessed = _witness_body(witness, findings)
    sizes = {log_size} | {b.size for _, b in bodies}
    if witnessed is not None:
        sizes.add(witnessed.size)
    reached, roots = recompute_roots(leaves, sizes)
    for checkpoint, body in bodies:
        findings.extend(_against_log(f"checkpoint {checkpoint.id}", body, reached, roots))
    if witnessed is not None:
        findings.extend(_against_log("the witnessed checkpoint", witnessed, reached, roots))
    findings.extend(_check_stored_tree(session, bodies, log_size, reached, roots))
    return findings


def _witness_body(witness: WitnessFile | None, findings: list[Finding]) -> CheckpointBody | None:
    if witness is None:
        return None
    try:
        trusted = {}
        for text in witness.verifier_keys:
            name, public = parse_verifier_key(text)
            trusted[text.split("+")[1]] = (name, public)
        note_text, _ = verify_note(witness.note, trusted)
        return parse_checkpoint(note_text)
    except VerificationError as exc:
        findings.append(_log(f"the witness file's checkpoint does not verify: {exc}"))
        return None


def _check_stored_tree(
    session: Session,
    bodies: list[tuple[Checkpoint, CheckpointBody]],
    log_size: int,
    reached: int,
    roots: Mapping[int, bytes],
) -> list[Finding]:
    """The stored nodes (which serve proofs) must give the recomputed root, and prove each
    checkpoint consistent with the next."""
    findings = []
    if reached == log_size and log_size in roots:
        try:
            if stored_root(session, log_size) != roots[log_size]:
                findings.append(
                    _log("stored Merkle nodes give another root than the entries: the proof"
                         " cache was altered (proofs served from it would fail)")
                )  # fmt: skip
        except IntegrityViolation as exc:
            findings.append(_log(str(exc)))
    ordered = sorted({(b.size, b.root) for _, b in bodies})
    for (old, old_root), (new, new_root) in itertools.pairwise(ordered):
        if new > log_size or old == 0:
            continue
        try:
            proof = stored_consistency_proof(session, old_size=old, new_size=new)
            verify_consistency(old, new, old_root, new_root, proof)
        except (VerificationError, IntegrityViolation) as exc:
            findings.append(_log(f"checkpoints of size {old} and {new} are not consistent: {exc}"))
    return findings

"""Invariant 4 beyond the chains: the Merkle tree recomputed from the raw entries, every
checkpoint's signature and root, consistency between checkpoints, every checkpoint note the
sealed store keeps (with or without its database row), and (optionally) a checkpoint an
outside party kept. Stored nodes and rows are checked, never trusted."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from asn1crypto import x509
from sqlalchemy.orm import Session

from custody.log.chain_check import Finding
from custody.log.checkpoints import WitnessFile, all_checkpoints
from custody.log.keys import known_keys
from custody.log.merkle import TreeBuilder, verify_consistency
from custody.log.merkle_store import stored_consistency_proof
from custody.log.proof_models import Checkpoint
from custody.log.range_nodes import check_nodes
from custody.log.signed_note import (
    CheckpointBody,
    key_id,
    parse_checkpoint,
    parse_verifier_key,
    split_note,
    verify_note,
)
from custody.log.timestamps import check_token
from vault.errors import IntegrityViolation, NotFound, StoreError, VerificationError
from vault.stores.protocol import ObjectStore, read_document, rehash

# A checkpoint note is a few hundred bytes; anything larger in the sealed store is not one.
MAX_NOTE_BYTES = 16 * 1024


@dataclass(frozen=True)
class KeptNote:
    """A checkpoint note found in the sealed store, where legal hold keeps it for ever."""

    digest: str
    body: CheckpointBody

    @property
    def label(self) -> str:
        return (
            f"the checkpoint kept in the sealed store as sha256:{self.digest[:16]}…"
            f" ({self.body.size} entries, signed {self.body.time:%Y-%m-%d %H:%M}Z)"
        )


def kept_checkpoints(sealed: ObjectStore) -> list[KeptNote]:
    """Every checkpoint note the sealed store holds, found by reading each object small
    enough to be one. The store's own record of what was signed: an insider who deletes the
    database's checkpoint rows and keys and signs afresh cannot remove these."""
    kept = []
    for digest, size in sealed.list_objects():
        if size > MAX_NOTE_BYTES:
            continue
        try:
            note = read_document(sealed, digest, limit=MAX_NOTE_BYTES).decode("utf-8")
            body = parse_checkpoint(split_note(note)[0])
        except (UnicodeDecodeError, VerificationError, NotFound, StoreError):
            continue  # a time-stamp token, a destruction register, a recording: not a note
        kept.append(KeptNote(digest, body))
    return kept


def _log(message: str) -> Finding:
    return Finding(None, None, message)


@dataclass
class RecomputedTree:
    """The tree rebuilt from the entries: how far it got, roots at the sizes asked for, and
    every complete node (32 bytes each, per level, in position order: 64 MB per 1M entries)."""

    reached: int = 0
    roots: dict[int, bytes] = field(default_factory=dict)
    levels: list[bytearray] = field(default_factory=list)
    # Set when the stored nodes were already compared while the log was scanned in ranges.
    node_findings: list[Finding] | None = None


class TreeRecomputer:
    """Fed leaf hashes in seq order during the pass over the log; stops at the first gap."""

    def __init__(self, sizes: set[int]) -> None:
        self._builder = TreeBuilder()
        self._sizes = sizes
        self._broken = False
        self.tree = RecomputedTree()
        if 0 in sizes:
            self.tree.roots[0] = self._builder.root()

    def feed(self, seq: int, leaf: bytes) -> None:
        if self._broken or seq != self._builder.size + 1:
            self._broken = True  # a gap: the checker names it; nothing beyond can be rebuilt
            return
        for level, _, digest in self._builder.append(leaf):
            if level == len(self.tree.levels):
                self.tree.levels.append(bytearray())
            self.tree.levels[level] += digest
        self.tree.reached = self._builder.size
        if self._builder.size in self._sizes:
            self.tree.roots[self._builder.size] = self._builder.root()


def sizes_to_recompute(
    session: Session, witness: WitnessFile | None, kept: Sequence[KeptNote] = ()
) -> set[int]:
    """Every tree size a checkpoint row, a checkpoint note, a kept note or the witness claims."""
    sizes: set[int] = {note.body.size for note in kept}
    checkpoints = all_checkpoints(session)
    notes = [c.note for c in checkpoints] + ([witness.note] if witness else [])
    sizes.update(c.tree_size for c in checkpoints)
    for note in notes:
        with contextlib.suppress(VerificationError):  # reported when its signature is checked
            sizes.add(parse_checkpoint(split_note(note)[0]).size)
    return sizes


def _signed_body(checkpoint: Checkpoint, keys: dict[str, tuple[str, bytes]]) -> CheckpointBody:
    text, _ = verify_note(checkpoint.note, keys)
    body = parse_checkpoint(text)
    if body.size != checkpoint.tree_size or body.root != bytes(checkpoint.root_hash):
        raise VerificationError(
            f"its row says size {checkpoint.tree_size}, its signed note size {body.size} with"
            " another root (the row was edited)"
        )
    return body


def _against_log(label: str, body: CheckpointBody, tree: RecomputedTree) -> list[Finding]:
    if body.size > tree.reached:
        return [
            _log(
                f"{label} signed a log of {body.size} entries at {body.time:%Y-%m-%d %H:%M}Z,"
                f" but the log holds only {tree.reached} readable entries from seq 1 (truncated)"
            )
        ]
    if tree.roots.get(body.size) != body.root:
        return [
            _log(
                f"{label} signed the first {body.size} entries at {body.time:%Y-%m-%d %H:%M}Z,"
                " and the entries now stored under those seqs hash to another root: history"
                " was rewritten after it was signed"
            )
        ]
    return []


def _check_sealed_object(label: str, digest: str, sealed: ObjectStore) -> list[Finding]:
    try:
        actual, _ = rehash(sealed, digest)
    except NotFound:
        return [_log(f"{label} is missing")]
    except StoreError as exc:
        return [_log(f"{label} cannot be read: {exc}")]
    if actual != digest:
        return [_log(f"{label} was altered: it hashes to {actual[:16]}…")]
    return []


def _check_sealed_copy(checkpoint: Checkpoint, sealed: ObjectStore) -> list[Finding]:
    """The copies kept in the sealed store must hold exactly the note and its token."""
    label = f"checkpoint {checkpoint.id}'s sealed copy"
    if checkpoint.sealed_digest is None:
        return [
            _log(
                f"checkpoint {checkpoint.id} is not in the sealed store yet (a daemon or"
                " `evault checkpoint` run keeps it)"
            )
        ]
    if hashlib.sha256(checkpoint.note.encode()).hexdigest() != checkpoint.sealed_digest:
        return [_log(f"{label} is not of this note: the note or its row was edited")]
    findings = _check_sealed_object(label, checkpoint.sealed_digest, sealed)
    if checkpoint.timestamp_token is not None:
        token_digest = hashlib.sha256(bytes(checkpoint.timestamp_token)).hexdigest()
        findings += _check_sealed_object(
            f"checkpoint {checkpoint.id}'s time-stamp token copy", token_digest, sealed
        )
    return findings


# A token stamps a note after it was signed; a token far older than the note's own time
# means the time line was edited (the note's clock and the TSA's may differ a little).
CLOCK_TOLERANCE = timedelta(minutes=5)


def _check_timestamp(
    checkpoint: Checkpoint, body: CheckpointBody, roots: list[x509.Certificate]
) -> list[Finding]:
    if checkpoint.timestamp_token is None:
        return []
    label = f"checkpoint {checkpoint.id}'s time-stamp token"
    if not roots:
        return [_log(f"{label} cannot be checked: set tsa_trust_roots")]
    try:
        stamped = check_token(bytes(checkpoint.timestamp_token), checkpoint.note.encode(), roots)
    except VerificationError as exc:
        return [_log(f"{label} is not valid for this note: {exc}")]
    if stamped + CLOCK_TOLERANCE < body.time:
        return [_log(f"{label} says {stamped:%Y-%m-%d %H:%M}Z, before the note was signed")]
    return []


@dataclass(frozen=True)
class CheckpointsChecked:
    findings: list[Finding]
    count: int  # checkpoints whose signature, root and sealed copy were checked
    covered: int  # entries the largest validly signed checkpoint covers (0: none)


def check_checkpoints(
    session: Session,
    tree: RecomputedTree,
    log_size: int,
    *,
    sealed: ObjectStore,
    witness: WitnessFile | None = None,
    tsa_roots: list[x509.Certificate] | None = None,
    kept: Sequence[KeptNote] = (),
) -> CheckpointsChecked:
    checkpoints = all_checkpoints(session)
    keys = known_keys(session)
    findings: list[Finding] = []
    rows = {c.sealed_digest for c in checkpoints}
    for note in kept:
        if note.digest in rows:
            continue  # checked below through its row, with its signature
        findings.append(_log(f"{note.label} has no checkpoint row in the database: it was deleted"))
        findings.extend(_against_log(note.label, note.body, tree))
    for checkpoint in checkpoints:
        findings.extend(_check_sealed_copy(checkpoint, sealed))
    bodies: list[tuple[Checkpoint, CheckpointBody]] = []
    for checkpoint in checkpoints:
        try:
            bodies.append((checkpoint, _signed_body(checkpoint, keys)))
        except VerificationError as exc:
            findings.append(_log(f"checkpoint {checkpoint.id} is forged or altered: {exc}"))
    witnessed = _witness_body(witness, findings)
    for checkpoint, body in bodies:
        findings.extend(_against_log(f"checkpoint {checkpoint.id}", body, tree))
        findings.extend(_check_timestamp(checkpoint, body, tsa_roots or []))
    if witnessed is not None:
        findings.extend(_against_log("the witnessed checkpoint", witnessed, tree))
    if tree.node_findings is None:
        findings.extend(_check_stored_nodes(session, tree, log_size))
    else:
        findings.extend(tree.node_findings)
    findings.extend(_check_consistency(session, bodies, log_size))
    covered = max((body.size for _, body in bodies), default=0)
    return CheckpointsChecked(findings, len(checkpoints), covered)


def _witness_body(witness: WitnessFile | None, findings: list[Finding]) -> CheckpointBody | None:
    if witness is None:
        return None
    try:
        trusted = {}
        for text in witness.verifier_keys:
            name, public = parse_verifier_key(text)
            trusted[key_id(name, public).hex()] = (name, public)
        note_text, _ = verify_note(witness.note, trusted)
        return parse_checkpoint(note_text)
    except VerificationError as exc:
        findings.append(_log(f"the witness file's checkpoint does not verify: {exc}"))
        return None


def _check_stored_nodes(session: Session, tree: RecomputedTree, log_size: int) -> list[Finding]:
    """Every stored node (they serve proofs) must equal the one rebuilt from the entries: the
    whole tree as one range (custody.log.range_nodes), up to the log's size."""
    leaves = max(log_size, tree.reached)
    check = check_nodes(session.connection(), tree.levels, 0, top=leaves.bit_length(), span=0,
                        last=True, leaves=leaves)  # fmt: skip
    return check.findings()


def _check_consistency(
    session: Session, bodies: list[tuple[Checkpoint, CheckpointBody]], log_size: int
) -> list[Finding]:
    """Each checkpoint must be provably a prefix of the next, with proofs from stored nodes."""
    findings = []
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

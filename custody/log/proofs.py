"""Proofs for outsiders: inclusion and consistency proofs with their bounds checked, and an
item's proof bundle (its entries' exact canonical bytes, each entry's inclusion proof, the
checkpoint they prove into and the keys that signed it). Used by the API and exports."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from custody.log.append import LOG_HEAD_ID, events_for
from custody.log.canonical import canonical_bytes, event_document
from custody.log.checkpoints import latest_checkpoint
from custody.log.keys import known_keys
from custody.log.merkle import leaf_hash
from custody.log.merkle_store import stored_consistency_proof, stored_inclusion_proof
from custody.log.models import CustodyEvent, LogHead
from custody.log.proof_models import Checkpoint
from custody.log.signed_note import verifier_key
from vault.errors import InputRejected, NotFound


def log_size(session: Session) -> int:
    head = session.get(LogHead, LOG_HEAD_ID)
    return head.last_seq if head is not None else 0


def checkpointed_size(session: Session, size: int | None) -> int:
    """``size``, or the latest checkpoint's; never beyond the log."""
    if size is None:
        latest = latest_checkpoint(session)
        if latest is None:
            raise NotFound("no checkpoint has been signed yet: run `evault checkpoint`")
        return latest.tree_size
    current = log_size(session)
    if not 1 <= size <= current:
        raise InputRejected(f"tree size must be 1 to {current} (the log's size), not {size}")
    return size


def inclusion(session: Session, *, seq: int, size: int | None) -> tuple[int, list[bytes]]:
    tree_size = checkpointed_size(session, size)
    if not 1 <= seq <= tree_size:
        raise InputRejected(f"entry seq must be 1 to {tree_size} in a tree of {tree_size}")
    return tree_size, stored_inclusion_proof(session, seq=seq, size=tree_size)


def consistency(session: Session, *, old_size: int, new_size: int) -> list[bytes]:
    current = log_size(session)
    if not 1 <= old_size <= new_size <= current:
        raise InputRejected(
            f"sizes must satisfy 1 <= old ({old_size}) <= new ({new_size}) <= {current}"
        )
    return stored_consistency_proof(session, old_size=old_size, new_size=new_size)


@dataclass(frozen=True)
class EntryProof:
    event: CustodyEvent
    canonical: bytes  # the exact bytes hashed into the chain and the tree
    leaf_hash: bytes
    proof: list[bytes] | None  # None: appended after the checkpoint


@dataclass(frozen=True)
class ProofBundle:
    checkpoint: Checkpoint
    verifier_keys: list[str]
    entries: list[EntryProof]


def item_bundle(
    session: Session, item_id: uuid.UUID, checkpoint: Checkpoint | None = None
) -> ProofBundle:
    """Proofs into ``checkpoint``, by default the latest."""
    checkpoint = checkpoint or latest_checkpoint(session)
    if checkpoint is None:
        raise NotFound("no checkpoint has been signed yet: run `evault checkpoint`")
    entries = []
    for event in events_for(session, item_id):
        canonical = canonical_bytes(
            event_document(
                seq=event.seq, item=event.item_id, kind=event.kind, actor=event.actor,
                at=event.at, reason=event.reason, data=dict(event.data),
            )
        )  # fmt: skip
        proof = (
            stored_inclusion_proof(session, seq=event.seq, size=checkpoint.tree_size)
            if event.seq <= checkpoint.tree_size
            else None
        )
        entries.append(EntryProof(event, canonical, leaf_hash(canonical), proof))
    keys = sorted(verifier_key(name, public) for name, public in known_keys(session).values())
    return ProofBundle(checkpoint, keys, entries)

"""The stored Merkle tree: nodes written as entries are appended, read back for proofs.

Appending touches O(log n) rows (one query for the left siblings, one insert); a proof or a
root reads the O(log^2 n) nodes it needs in one query.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from custody.log.merkle import (
    NodeKey,
    NodeLookup,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    needed_nodes,
    node_hash,
    nodes_completed_by,
    tree_root,
)
from custody.log.proof_models import MerkleNode
from vault.errors import IntegrityViolation


def fetch_nodes(session: Session, keys: set[NodeKey]) -> dict[NodeKey, bytes]:
    if not keys:
        return {}
    by_level: dict[int, list[int]] = defaultdict(list)
    for level, position in keys:
        by_level[level].append(position)
    # One (level = l AND position IN ...) per level: both databases then use the primary key;
    # SQLite scans the whole table for a row-value IN list.
    rows = session.execute(
        select(MerkleNode.level, MerkleNode.position, MerkleNode.hash).where(
            or_(
                *(
                    and_(MerkleNode.level == level, MerkleNode.position.in_(positions))
                    for level, positions in sorted(by_level.items())
                )
            )
        )
    )
    return {(level, position): bytes(digest) for level, position, digest in rows}


def record_leaf(session: Session, *, seq: int, canonical: bytes) -> bytes:
    """Store the leaf of entry ``seq`` and every subtree it completes; returns the leaf hash."""
    index = seq - 1
    completed = nodes_completed_by(index)
    lefts = [(level - 1, position * 2) for level, position in completed[1:]]
    found = fetch_nodes(session, set(lefts))
    current = leaf_hash(canonical)
    rows = [MerkleNode(level=0, position=index, hash=current)]
    for (level, position), left in zip(completed[1:], lefts, strict=True):
        if left not in found:
            raise IntegrityViolation(f"Merkle node {left} is missing: run `evault audit verify`")
        current = node_hash(found[left], current)
        rows.append(MerkleNode(level=level, position=position, hash=current))
    session.add_all(rows)
    return rows[0].hash


def _stored(session: Session, build: Callable[[NodeLookup], object]) -> NodeLookup:
    found = fetch_nodes(session, needed_nodes(build))

    def lookup(level: int, position: int) -> bytes:
        try:
            return found[(level, position)]
        except KeyError:
            raise IntegrityViolation(
                f"Merkle node ({level}, {position}) is missing: run `evault audit verify`"
            ) from None

    return lookup


def stored_root(session: Session, size: int) -> bytes:
    return tree_root(size, _stored(session, lambda look: tree_root(size, look)))


def stored_inclusion_proof(session: Session, *, seq: int, size: int) -> list[bytes]:
    index = seq - 1
    return inclusion_proof(
        index, size, _stored(session, lambda look: inclusion_proof(index, size, look))
    )


def stored_consistency_proof(session: Session, *, old_size: int, new_size: int) -> list[bytes]:
    def build(look: NodeLookup) -> list[bytes]:
        return consistency_proof(old_size, new_size, look)

    return build(_stored(session, build))

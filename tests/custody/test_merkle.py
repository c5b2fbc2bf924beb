"""Properties of the Merkle tree and its proofs (RFC 9162), over random logs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custody.log.merkle import (
    NodeLookup,
    TreeBuilder,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_from_leaves,
    tree_root,
    verify_consistency,
    verify_inclusion,
)
from vault.errors import VerificationError

# Unique, as custody entries are (each holds its own seq).
entries = st.lists(st.binary(min_size=0, max_size=40), min_size=1, max_size=80, unique=True)


def stored(leaves: list[bytes]) -> NodeLookup:
    """The nodes an appending log would have stored, as a lookup."""
    builder, nodes = TreeBuilder(), {}
    for leaf in leaves:
        for level, position, digest in builder.append(leaf_hash(leaf)):
            nodes[(level, position)] = digest
    return lambda level, position: nodes[(level, position)]


def root(leaves: list[bytes]) -> bytes:
    return root_from_leaves(leaf_hash(e) for e in leaves)[1]


def flip_bit(data: bytes, bit: int) -> bytes:
    if not data:
        return b"\x01"
    position = bit % (len(data) * 8)
    changed = bytearray(data)
    changed[position // 8] ^= 1 << (position % 8)
    return bytes(changed)


@settings(max_examples=150, deadline=None)
@given(entries, st.data())
def test_every_inclusion_proof_verifies_and_any_changed_entry_fails(
    log: list[bytes], data: st.DataObject
) -> None:
    size, lookup, top = len(log), stored(log), root(log)
    assert tree_root(size, lookup) == top
    for index, entry in enumerate(log):
        verify_inclusion(leaf_hash(entry), index, size, inclusion_proof(index, size, lookup), top)
    index = data.draw(st.integers(0, size - 1))
    proof = inclusion_proof(index, size, lookup)
    forged = flip_bit(log[index], data.draw(st.integers(0, 10_000)))
    with pytest.raises(VerificationError):
        verify_inclusion(leaf_hash(forged), index, size, proof, top)
    if size > 1:  # the same entry claimed at another position
        other = data.draw(st.integers(0, size - 1).filter(lambda n: n != index))
        with pytest.raises(VerificationError):
            verify_inclusion(leaf_hash(log[index]), other, size, proof, top)
    if proof:  # a tampered proof
        spot = data.draw(st.integers(0, len(proof) - 1))
        bad = [*proof[:spot], flip_bit(proof[spot], 3), *proof[spot + 1 :]]
        with pytest.raises(VerificationError):
            verify_inclusion(leaf_hash(log[index]), index, size, bad, top)


@settings(max_examples=150, deadline=None)
@given(entries, st.data())
def test_every_consistency_proof_verifies(log: list[bytes], data: st.DataObject) -> None:
    size, lookup, top = len(log), stored(log), root(log)
    old = data.draw(st.integers(1, size))
    verify_consistency(old, size, root(log[:old]), top, consistency_proof(old, size, lookup))


@settings(max_examples=150, deadline=None)
@given(entries, st.data())
def test_rewritten_history_breaks_consistency(log: list[bytes], data: st.DataObject) -> None:
    """A flipped bit, a removed entry or two swapped entries in the signed prefix, with the
    rest of the log re-hashed honestly: no proof from the new log matches the old root."""
    size = len(log)
    old = data.draw(st.integers(1, size))
    signed_root = root(log[:old])
    attack = data.draw(st.sampled_from(["flip", "remove", "swap"]))
    changed = list(log)
    target = data.draw(st.integers(0, old - 1))
    if attack == "flip":
        changed[target] = flip_bit(changed[target], data.draw(st.integers(0, 10_000)))
    elif attack == "remove":
        del changed[target]
        changed.append(b"\xff" * 41)  # longer than any generated entry: never a no-op
    else:
        other = data.draw(st.integers(0, size - 1))
        if changed[other] == changed[target]:
            changed[target] = changed[target] + b"!"  # swapping equal entries changes nothing
        changed[target], changed[other] = changed[other], changed[target]
    proof = consistency_proof(old, size, stored(changed))
    with pytest.raises(VerificationError):
        verify_consistency(old, size, signed_root, root(changed), proof)


@settings(max_examples=100, deadline=None)
@given(entries, entries, st.data())
def test_a_checkpoint_of_a_different_tree_is_not_consistent(
    log: list[bytes], other: list[bytes], data: st.DataObject
) -> None:
    if other == log[: len(other)]:
        other = [*other[:-1], other[-1] + b"x"]
    old = len(other)
    full = log + [b"more"] * max(0, old - len(log))
    size = len(full)
    with pytest.raises(VerificationError):
        verify_consistency(
            old, size, root(other), root(full), consistency_proof(old, size, stored(full))
        )


def test_a_shrunk_tree_and_equal_sizes() -> None:
    log = [b"a", b"b", b"c"]
    with pytest.raises(VerificationError, match="shrank"):
        verify_consistency(3, 2, root(log), root(log[:2]), [])
    verify_consistency(3, 3, root(log), root(log), [])
    with pytest.raises(VerificationError, match="two different roots"):
        verify_consistency(3, 3, root(log), root([b"a", b"b", b"d"]), [])

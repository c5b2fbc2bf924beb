"""The standalone verifier's own arithmetic, against the libraries the vault uses: its RFC 8032
Ed25519 (used where `cryptography` is not installed), its RFC 8785 canonical form, and its
RFC 9162 inclusion check."""

from __future__ import annotations

import os

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from custody.log.merkle import inclusion_proof, leaf_hash
from export import verify
from tests.custody.test_merkle import root, stored


def test_reference_ed25519_agrees_with_cryptography() -> None:
    for n in range(24):
        key = Ed25519PrivateKey.generate()
        public = key.public_key().public_bytes_raw()
        message = os.urandom(n * 7)
        signature = key.sign(message)
        assert verify._ed25519_reference(public, message, signature)
        assert not verify._ed25519_reference(public, message + b"x", signature)
        bad = bytearray(signature)
        bad[n % 64] ^= 0x04
        assert not verify._ed25519_reference(public, message, bytes(bad))
        other = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
        assert not verify._ed25519_reference(other, message, signature)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(), json_values, max_size=6))
def test_canonical_form_is_rfc8785(document: dict[str, object]) -> None:
    line = rfc8785.dumps(document)
    assert verify._jcs(document).encode() == line
    assert verify.parse_entry(line) == document


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 70), st.data())
def test_inclusion_matches_the_vaults_merkle_tree(size: int, data: st.DataObject) -> None:
    entries = [f"entry {n}".encode() for n in range(size)]
    index = data.draw(st.integers(0, size - 1))
    proof = inclusion_proof(index, size, stored(entries))
    leaf, top = leaf_hash(entries[index]), root(entries)
    assert verify.root_from_inclusion(index, size, leaf, proof) == top
    if proof:
        proof[0] = bytes(32)
        assert verify.root_from_inclusion(index, size, leaf, proof) != top

"""The standalone verifier's own arithmetic, against the libraries the vault uses: its RFC 8032
Ed25519 (used where `cryptography` is not installed), its RFC 8785 canonical form, and its
RFC 9162 inclusion check."""

from __future__ import annotations

import base64
import os

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from custody.log.merkle import consistency_proof, inclusion_proof, leaf_hash
from custody.log.signed_note import verifier_key
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


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 70), st.data())
def test_consistency_matches_the_vaults_merkle_tree(size: int, data: st.DataObject) -> None:
    entries = [f"entry {n}".encode() for n in range(size)]
    old = data.draw(st.integers(1, size - 1))
    proof = consistency_proof(old, size, stored(entries))
    old_root, top = root(entries[:old]), root(entries)
    assert verify.root_from_consistency(old, size, old_root, proof) == top
    try:  # another old root: refused, or (a power-of-two old size) leads elsewhere
        elsewhere: bytes | None = verify.root_from_consistency(old, size, bytes(32), proof)
    except ValueError:
        elsewhere = None
    assert elsewhere != top


ROOT = base64.b64encode(bytes(range(32))).decode()


@pytest.mark.parametrize(
    "body",
    [
        f"log\n05\n{ROOT}\n",  # a leading zero
        f"log\n+5\n{ROOT}\n",  # a sign
        f"log\n-1\n{ROOT}\n",
        f"log\n 5\n{ROOT}\n",
        f"log\n5\n{ROOT[:-1]}\n",  # padding missing
        f"log\n5\n{ROOT[:20]} {ROOT[20:]}\n",  # a space inside the base64
        f"log\n5\n{base64.b64encode(bytes(31)).decode()}\n",  # not 32 bytes
        f"\n5\n{ROOT}\n",  # no origin
        "log\n5\n",
    ],
)
def test_checkpoint_bodies_are_parsed_strictly(body: str) -> None:
    with pytest.raises(ValueError):
        verify.parse_body(body)


def test_a_well_formed_body_parses() -> None:
    assert verify.parse_body(f"log\n5\n{ROOT}\ntime 2026-12-06T00:00:00Z\n") == (
        "log", 5, bytes(range(32)), ["time 2026-12-06T00:00:00Z"]
    )  # fmt: skip


def _note(lines: str) -> str:
    return f"log\n5\n{ROOT}\n\n{lines}"


SIGNATURE = base64.b64encode(bytes(68)).decode()


@pytest.mark.parametrize(
    "note",
    [
        _note(f"\u2014 key {SIGNATURE}"),  # no final newline
        f"log\n5\n{ROOT}\n\u2014 key {SIGNATURE}\n",  # no blank line
        _note(f"\u2014 key  {SIGNATURE}\n"),  # two spaces
        _note(f"- key {SIGNATURE}\n"),  # not an em dash
        _note(f"\u2014 key {SIGNATURE[:-2]}\n"),  # padding missing
        _note(f"\u2014 key {SIGNATURE[:10]}!{SIGNATURE[11:]}\n"),  # outside the alphabet
        _note(f"\u2014 k+ey {SIGNATURE}\n"),  # a key name holding +
        _note(f"\u2014 key {SIGNATURE}\n\n"),  # an empty line among the signatures
    ],
)
def test_signed_notes_are_parsed_strictly(note: str) -> None:
    with pytest.raises(ValueError):
        verify.split_note(note)


def test_a_cosignature_line_parses_and_is_left_to_its_key() -> None:
    cosignature = base64.b64encode(bytes(76)).decode()  # key ID, time, signature
    text, lines = verify.split_note(_note(f"\u2014 a {SIGNATURE}\n\u2014 w {cosignature}\n"))
    assert text == f"log\n5\n{ROOT}\n" and [len(blob) for _, blob in lines] == [68, 76]


def test_verifier_keys_are_the_vaults_format_and_checked_whole() -> None:
    # A key whose ID has a letter in it: in capitals, an ID of digits only (one key in 43)
    # would be itself, and the check of the ID's case would pass for nothing.
    while True:
        public = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
        text = verifier_key("vault.example/log", public)
        if text.split("+")[1] != text.split("+")[1].upper():
            break
    assert verify.parse_key(text) == ("vault.example/log", text.split("+")[1], public)
    assert verify.key_text(verify.parse_key(text)) == text
    name, key_id, encoded = text.split("+", 2)
    other = verifier_key(name, bytes(32)).split("+", 2)[2]
    for bad in (f"{name}+{key_id}+{other}", f"{name}+{key_id}+{encoded[:-1]}",
                f"{name}+{key_id.upper()}+{encoded}", f"my log+{key_id}+{encoded}"):  # fmt: skip
        with pytest.raises(ValueError):
            verify.parse_key(bad)


@pytest.mark.parametrize(
    "name",
    ["/etc/hostname", "../x", "data/../../x", "data//x", "data/./x", "C:/x", "data\\x", ""],
)
def test_a_manifest_name_that_could_lead_outside_is_refused(name: str) -> None:
    assert verify.outside_problem(name) is not None
    assert verify.outside_problem("data/originals/a b.mp4") is None

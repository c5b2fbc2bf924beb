"""An independent verifier written from RFC 9162 and C2SP signed-note alone.

It shares no code with custody/ (only hashlib, base64 and the `cryptography` Ed25519
primitive), so a bug copied into both the implementation and its own checks cannot hide.
Definitions follow RFC 9162 section 2.1 literally (recursive, not efficient).
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def k_for(n: int) -> int:
    """The largest power of two smaller than n (RFC 9162 2.1.1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(entries: list[bytes]) -> bytes:
    """MTH(D[n]) of RFC 9162 2.1.1."""
    n = len(entries)
    if n == 0:
        return sha256(b"")
    if n == 1:
        return sha256(b"\x00" + entries[0])
    k = k_for(n)
    return sha256(b"\x01" + mth(entries[:k]) + mth(entries[k:]))


def path(m: int, entries: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 2.1.3.1."""
    n = len(entries)
    if n == 1:
        return []
    k = k_for(n)
    if m < k:
        return [*path(m, entries[:k]), mth(entries[k:])]
    return [*path(m - k, entries[k:]), mth(entries[:k])]


def subproof(m: int, entries: list[bytes], b: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b) of RFC 9162 2.1.4.1."""
    n = len(entries)
    if m == n:
        return [] if b else [mth(entries)]
    k = k_for(n)
    if m <= k:
        return [*subproof(m, entries[:k], b), mth(entries[k:])]
    return [*subproof(m - k, entries[k:], False), mth(entries[:k])]


def proof(m: int, entries: list[bytes]) -> list[bytes]:
    return subproof(m, entries, True)


def root_from_inclusion(leaf_index: int, tree_size: int, entry: bytes, audit: list[bytes]) -> bytes:
    """The root an inclusion proof leads to, recomputed by recursion over the tree's shape."""

    def walk(index: int, size: int, siblings: list[bytes]) -> bytes:
        if size == 1:
            if siblings:
                raise ValueError("proof too long")
            return sha256(b"\x00" + entry)
        if not siblings:
            raise ValueError("proof too short")
        k = k_for(size)
        *rest, last = siblings
        if index < k:
            return sha256(b"\x01" + walk(index, k, rest) + last)
        return sha256(b"\x01" + last + walk(index - k, size - k, rest))

    return walk(leaf_index, tree_size, list(audit))


def verify_note(note: str, name: str, public_key: bytes) -> str:
    """C2SP signed-note with Ed25519: returns the note text if ``name``'s signature holds."""
    text, _, signatures = note.rstrip("\n").rpartition("\n\n")
    text += "\n"
    expected_id = sha256(name.encode() + b"\n\x01" + public_key)[:4]
    for line in signatures.split("\n"):
        prefix = f"\u2014 {name} "
        if line.startswith(prefix):
            blob = base64.b64decode(line[len(prefix) :])
            if blob[:4] == expected_id:
                Ed25519PublicKey.from_public_bytes(public_key).verify(blob[4:], text.encode())
                return text
    raise ValueError(f"no signature by {name}")


def checkpoint_fields(text: str) -> tuple[str, int, bytes]:
    origin, size, root = text.split("\n")[:3]
    return origin, int(size), base64.b64decode(root)

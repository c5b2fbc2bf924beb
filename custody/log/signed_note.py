"""C2SP signed notes with Ed25519 and tlog-checkpoint bodies: pure functions, no I/O.

A checkpoint body is ``origin\\nsize\\nbase64(root)\\n`` plus one extension line
``time <RFC 3339 UTC>`` (the vault's clock when it signed; an RFC 3161 token, when configured,
is the independent evidence of time). The signature line is
``— <key name> base64(key ID || Ed25519 signature over the body)``.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from vault.errors import VerificationError

ED25519_TYPE = b"\x01"
EM_DASH = "\u2014"
TIME_PREFIX = "time "
# An extension line committing to the administration log: "admin <entries> <head, base64>".
ADMIN_PREFIX = "admin "


def key_id(name: str, public_key: bytes) -> bytes:
    """SHA-256(name || 0x0A || 0x01 || key)[:4], as the signed-note spec recommends."""
    return hashlib.sha256(name.encode() + b"\n" + ED25519_TYPE + public_key).digest()[:4]


def verifier_key(name: str, public_key: bytes) -> str:
    """The note verifier key string ``name+hexid+base64(0x01 || key)`` outsiders configure."""
    encoded = base64.b64encode(ED25519_TYPE + public_key).decode()
    return f"{name}+{key_id(name, public_key).hex()}+{encoded}"


def parse_verifier_key(text: str) -> tuple[str, bytes]:
    try:
        name, hex_id, encoded = text.strip().split("+", 2)  # base64 may itself hold "+"
        raw = base64.b64decode(encoded, validate=True)
    except ValueError as exc:
        raise VerificationError(f"not a note verifier key: {text!r}") from exc
    if raw[:1] != ED25519_TYPE or len(raw) != 33:
        raise VerificationError(f"verifier key {name} is not an Ed25519 key")
    if key_id(name, raw[1:]).hex() != hex_id:
        raise VerificationError(f"verifier key {name} has a key ID that does not match its key")
    return name, raw[1:]


@dataclass(frozen=True)
class CheckpointBody:
    origin: str
    size: int
    root: bytes
    time: datetime
    admin: tuple[int, bytes] | None = None  # (entries, head hash) of the administration log

    def text(self) -> str:
        stamp = self.time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        root = base64.b64encode(self.root).decode()
        text = f"{self.origin}\n{self.size}\n{root}\n{TIME_PREFIX}{stamp}\n"
        if self.admin is not None:
            entries, head = self.admin
            text += f"{ADMIN_PREFIX}{entries} {base64.b64encode(head).decode()}\n"
        return text


def sign_note(text: str, *, name: str, key: Ed25519PrivateKey) -> str:
    if not text.endswith("\n") or "\n\n" in text:
        raise ValueError("note text must end in a newline and hold no empty line")
    public = key.public_key().public_bytes_raw()
    signature = key_id(name, public) + key.sign(text.encode())
    return f"{text}\n{EM_DASH} {name} {base64.b64encode(signature).decode()}\n"


def add_signature(note: str, *, name: str, key: Ed25519PrivateKey) -> str:
    """The same note with one more signature line (renewal under a new key)."""
    text, _ = split_note(note)
    signed = sign_note(text, name=name, key=key)
    return note + signed[len(text) + 1 :]


def split_note(note: str) -> tuple[str, list[tuple[str, bytes]]]:
    """(text, [(key name, key ID || signature)]) of a signed note."""
    if not note.endswith("\n"):
        raise VerificationError("signed note does not end in a newline")
    text, separator, signatures = note[:-1].rpartition("\n\n")
    if not separator:
        raise VerificationError("signed note has no blank line before its signatures")
    found = []
    for line in signatures.split("\n"):
        dash, _, rest = line.partition(" ")
        name, _, encoded = rest.partition(" ")
        if dash != EM_DASH or not name or not encoded:
            raise VerificationError(f"malformed signature line {line!r}")
        try:
            found.append((name, base64.b64decode(encoded, validate=True)))
        except ValueError as exc:
            raise VerificationError(f"signature of {name} is not base64") from exc
    return text + "\n", found


def verify_note(note: str, keys: dict[str, tuple[str, bytes]]) -> tuple[str, list[str]]:
    """Check every signature from a known key; ``keys`` maps hex key ID -> (name, public key).

    Returns the note text and the key IDs that verified. Unknown signatures are ignored (the
    spec's rule); a known key's bad signature, or no known signature at all, is a failure.
    """
    text, signatures = split_note(note)
    verified = []
    for name, blob in signatures:
        hex_id = blob[:4].hex()
        known = keys.get(hex_id)
        if known is None or known[0] != name:
            continue
        try:
            Ed25519PublicKey.from_public_bytes(known[1]).verify(blob[4:], text.encode())
        except InvalidSignature:
            raise VerificationError(f"signature by key {name} ({hex_id}) does not verify") from None
        verified.append(hex_id)
    if not verified:
        raise VerificationError("no signature on the note is from a known key")
    return text, verified


def parse_checkpoint(text: str) -> CheckpointBody:
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise VerificationError("checkpoint body needs origin, size and root lines")
    origin, size_line, root_line = lines[0], lines[1], lines[2]
    if not size_line.isdigit() or (size_line.startswith("0") and size_line != "0"):
        raise VerificationError(f"checkpoint tree size {size_line!r} is not a decimal")
    try:
        root = base64.b64decode(root_line, validate=True)
    except ValueError as exc:
        raise VerificationError("checkpoint root hash is not base64") from exc
    if len(root) != 32:
        raise VerificationError(f"checkpoint root hash has {len(root)} bytes, not 32")
    times = [line[len(TIME_PREFIX) :] for line in lines[3:-1] if line.startswith(TIME_PREFIX)]
    if len(times) != 1:
        raise VerificationError("checkpoint has no single time line")
    try:
        when = datetime.strptime(times[0], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError as exc:
        raise VerificationError(f"checkpoint time {times[0]!r} is malformed") from exc
    return CheckpointBody(origin, int(size_line), root, when, _admin_line(lines[3:-1]))


def _admin_line(extensions: list[str]) -> tuple[int, bytes] | None:
    found = [line[len(ADMIN_PREFIX) :] for line in extensions if line.startswith(ADMIN_PREFIX)]
    if not found:
        return None
    entries, _, encoded = found[-1].partition(" ")
    try:
        head = base64.b64decode(encoded, validate=True)
    except ValueError as exc:
        raise VerificationError("checkpoint's administration log head is not base64") from exc
    if len(found) != 1 or not entries.isdigit() or len(head) != 32:
        raise VerificationError("checkpoint has a malformed administration log line")
    return int(entries), head

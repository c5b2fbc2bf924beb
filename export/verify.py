#!/usr/bin/env python3
"""Check this evidence package offline, with nothing but Python (3.9 or later).

    python3 data/verify.py                     # from the package's top folder
    python3 data/verify.py --key KEY           # and prove it was signed by the vault's key
    python3 data/verify.py --witness FILE      # and prove it extends a checkpoint you hold
    python3 data/verify.py --tsa-root PEM      # trust this TSA root, not the one shipped

It checks, and says which check failed and on which file or custody entry:
  1. the package itself: only regular files (a link, a hard link or a device is a failure,
     never followed: nothing outside the package is opened), BagIt 1.0 (RFC 8493) with every
     payload file in the SHA-256 and SHA-512 manifests, Payload-Oxum and the tag manifests;
  2. the checkpoint: a C2SP signed note, parsed strictly, with an Ed25519 signature by a
     trusted log key (signatures of other keys, such as witness cosignatures, are ignored, as
     the specification says), and its RFC 3161 time stamp when openssl is installed;
  3. every item's custody chain: each entry is canonical JSON (RFC 8785), the hash chain
     SHA-256(0x02 || previous || entry) recomputes, each entry's RFC 9162 inclusion proof
     leads to the checkpoint's root, and the export's entries commit to the chain before them;
  4. the export's manifest (data/custody/export.json): its SHA-256, the report's and this
     file's are recorded in every item's export_packaged entry, which the checkpoint proves;
     the package holds exactly the files it names (and the proofs above), nothing more, with
     the size and SHA-256 it names; bag-info.txt says what it signed; a time stamp it
     promises is present; the package's checkpoint extends the one the report states;
  5. every original, rendition and clip against the custody record: the digest recorded at
     ingest and in this export's exported entry.

What it proves depends on what you give it. Alone, the package is consistent with itself:
anyone able to make such a package with a key of their own could have made it. With --key
(the vault's published verifier key, also printed in the report) or --witness (a checkpoint
file from `evault checkpoint export` you hold from the vault), it came from that vault's log.
Ed25519 is checked with the `cryptography` package when it is installed, otherwise with the
RFC 8032 reference arithmetic below (slower, same result).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any, BinaryIO

CHUNK = 1 << 20
ZERO = bytes(32)
EM_DASH = "\u2014"
MANIFEST = "data/custody/export.json"
MANIFEST_FORMAT = "evidence-vault/export-manifest/v1"
ALGORITHMS = ("sha256", "sha512")
TAG_FILES = (
    "bagit.txt",
    "bag-info.txt",
    "manifest-sha256.txt",
    "manifest-sha512.txt",
    "tagmanifest-sha256.txt",
    "tagmanifest-sha512.txt",
)
UNSIGNED_BAG_INFO = ("Payload-Oxum",)  # computed from the payload, checked as such
DECIMAL = re.compile(r"0|[1-9][0-9]*")
KEY_NAME = re.compile(r"[^\s+]+")
SIGNATURE_LINE = re.compile("\u2014 ([^\\s+]+) ([A-Za-z0-9+/=]+)")
HEX_DIGEST = {"sha256": re.compile(r"[0-9a-f]{64}"), "sha512": re.compile(r"[0-9a-f]{128}")}


class Report:
    def __init__(self) -> None:
        self.problems: list[str] = []
        self.notes: list[str] = []
        self.unchecked: list[str] = []  # what the verdict must say it did not check

    @staticmethod
    def _print(line: str) -> None:
        try:
            print(line)
        except UnicodeEncodeError:  # a console that cannot show a file's name
            print(line.encode("ascii", "backslashreplace").decode("ascii"))

    def fail(self, message: str) -> None:
        self.problems.append(message)
        self._print(f"FAILED  {message}")

    def ok(self, message: str) -> None:
        self._print(f"ok      {message}")

    def note(self, message: str) -> None:
        self.notes.append(message)
        self._print(f"note    {message}")


def strict_base64(text: str) -> bytes:
    """RFC 4648 base64, alphabet and padding exactly as an encoder writes them."""
    raw = base64.b64decode(text, validate=True)
    if base64.b64encode(raw).decode("ascii") != text:
        raise ValueError("it is not canonical base64")
    return raw


# --- The package on disk: what is there, read without ever leaving it --------------------


def outside_problem(name: str) -> str | None:
    """Why a name a manifest gives could lead outside the package, or None."""
    if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name):
        return "is an absolute path"
    if "\\" in name or any(part in ("", ".", "..") for part in name.split("/")):
        return "is not a plain relative path (it holds '..', '.', '\\' or an empty part)"
    return None


class Package:
    """The regular files and folders under the package's top folder, listed without following
    a link. Only these are ever opened, by their listed names, and only if they are still the
    same file when opened."""

    def __init__(self, root: Path, report: Report) -> None:
        self.root = root
        self.files: dict[str, os.stat_result] = {}
        self.dirs: set[str] = set()
        self._sha256: dict[str, str] = {}
        self._scan("", report)

    def _scan(self, folder: str, report: Report) -> None:
        try:
            entries = sorted(os.scandir(os.path.join(self.root, folder)), key=lambda e: e.name)
        except OSError as exc:
            report.fail(f"{folder or '.'}: the folder cannot be listed ({exc.strerror})")
            return
        for entry in entries:
            name = f"{folder}/{entry.name}" if folder else entry.name
            info = os.lstat(entry.path)
            if stat.S_ISLNK(info.st_mode):
                report.fail(
                    f"{name} is a symbolic link (to {os.readlink(entry.path)!r}): a package holds"
                    " only regular files; it was not followed"
                )
            elif stat.S_ISDIR(info.st_mode):
                self.dirs.add(name)
                self._scan(name, report)
            elif stat.S_ISREG(info.st_mode):
                if info.st_nlink > 1:
                    report.fail(
                        f"{name} is a hard link ({info.st_nlink} names for the same bytes):"
                        " a package holds each file once, under one name"
                    )
                self.files[name] = info
            else:
                report.fail(f"{name} is not a regular file (a device, pipe or socket)")

    def open(self, name: str) -> BinaryIO:
        listed = self.files.get(name)
        if listed is None:
            raise OSError(f"{name} is not a file of the package")
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
        handle = os.open(os.path.join(self.root, *name.split("/")), flags)
        found = os.fstat(handle)
        if not stat.S_ISREG(found.st_mode) or (
            listed.st_ino and (found.st_ino, found.st_dev) != (listed.st_ino, listed.st_dev)
        ):
            os.close(handle)
            raise OSError(f"{name} was replaced while the package was checked")
        return os.fdopen(handle, "rb")

    def read(self, name: str) -> bytes:
        with self.open(name) as stream:
            return stream.read()

    def text(self, name: str) -> str:
        return self.read(name).decode("utf-8")

    def hashes(self, name: str, algorithms: tuple[str, ...] = ALGORITHMS) -> dict[str, str]:
        found = {alg: hashlib.new(alg) for alg in algorithms}
        with self.open(name) as stream:
            for chunk in iter(lambda: stream.read(CHUNK), b""):
                for hasher in found.values():
                    hasher.update(chunk)
        digests = {alg: hasher.hexdigest() for alg, hasher in found.items()}
        if "sha256" in digests:
            self._sha256[name] = digests["sha256"]
        return digests

    def sha256(self, name: str) -> str:
        if name not in self._sha256:
            self.hashes(name, ("sha256",))
        return self._sha256[name]

    def payload(self) -> list[str]:
        return sorted(name for name in self.files if name.startswith("data/"))


# --- Ed25519 (RFC 8032, section 6: the reference verification) -------------------------

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)
Point = tuple[int, int, int, int]


def _add(a: Point, b: Point) -> Point:
    x = (a[1] - a[0]) * (b[1] - b[0]) % P
    y = (a[1] + a[0]) * (b[1] + b[0]) % P
    c = 2 * a[3] * b[3] * D % P
    z = 2 * a[2] * b[2] % P
    e, f, g, h = y - x, z - c, z + c, y + x
    return (e * f, g * h, f * g, e * h)


def _mul(scalar: int, point: Point) -> Point:
    result: Point = (0, 1, 1, 0)
    while scalar > 0:
        if scalar & 1:
            result = _add(result, point)
        point = _add(point, point)
        scalar >>= 1
    return result


def _equal(a: Point, b: Point) -> bool:
    return (a[0] * b[2] - b[0] * a[2]) % P == 0 and (a[1] * b[2] - b[1] * a[2]) % P == 0


def _recover_x(y: int, sign: int) -> int | None:
    if y >= P:
        return None
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P)
    if x2 % P == 0:
        return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P != 0:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P != 0:
        return None
    return P - x if (x & 1) != sign else x


def _decompress(data: bytes) -> Point | None:
    y = int.from_bytes(data, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    x = _recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % P)


_GY = 4 * pow(5, P - 2, P) % P
_GX = _recover_x(_GY, 0)
assert _GX is not None
BASE: Point = (_GX, _GY, 1, _GX * _GY % P)


def _ed25519_reference(public: bytes, message: bytes, signature: bytes) -> bool:
    if len(public) != 32 or len(signature) != 64:
        return False
    a, r = _decompress(public), _decompress(signature[:32])
    s = int.from_bytes(signature[32:], "little")
    if a is None or r is None or s >= L:
        return False
    h = int.from_bytes(hashlib.sha512(signature[:32] + public + message).digest(), "little") % L
    return _equal(_mul(s, BASE), _add(r, _mul(h, a)))


def ed25519_verify(public: bytes, message: bytes, signature: bytes) -> tuple[bool, str]:
    try:
        # Optional: this file must run where only the standard library is installed.
        from cryptography.exceptions import InvalidSignature  # noqa: PLC0415
        from cryptography.hazmat.primitives.asymmetric.ed25519 import (  # noqa: PLC0415
            Ed25519PublicKey,
        )
    except ImportError:
        return _ed25519_reference(public, message, signature), "RFC 8032 reference code"
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False, "the cryptography package"
    return True, "the cryptography package"


# --- RFC 8785 canonical JSON (the custody log uses only strings, integers, null, booleans) --


def _jcs(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ",".join(_jcs(v) for v in value) + "]"
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(f"{_jcs(k)}:{_jcs(value[k])}" for k in keys) + "}"
    raise ValueError(f"a {type(value).__name__} has no place in a custody entry")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("a key appears twice")
    return dict(pairs)


def parse_entry(line: bytes) -> dict[str, Any]:
    """The entry, if ``line`` is exactly its own canonical form."""
    document = json.loads(line.decode("utf-8"), object_pairs_hook=_no_duplicates)
    if not isinstance(document, dict) or _jcs(document).encode("utf-8") != line:
        raise ValueError("it is not in canonical form (RFC 8785)")
    return document


# --- RFC 9162 Merkle inclusion ------------------------------------------------------------


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: list[bytes]) -> bytes:
    """RFC 9162, 2.1.3.2: the root an inclusion proof leads to."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is outside a tree of {size}")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ValueError("the proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = _node(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = _node(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ValueError("the proof is shorter than the tree is deep")
    return r


def root_from_consistency(
    old_size: int, new_size: int, old_root: bytes, proof: list[bytes]
) -> bytes:
    """RFC 9162, 2.1.4.2: the new root a consistency proof leads to from (old_size, old_root);
    raises ValueError when the proof does not start from ``old_root``."""
    if not 0 < old_size < new_size:
        raise ValueError(f"no consistency proof leads from size {old_size} to {new_size}")
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is itself a node
        path.insert(0, old_root)
    if not path:
        raise ValueError("the consistency proof is empty")
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ValueError("the consistency proof is too long")
        if fn & 1 or fn == sn:
            fr, sr = _node(c, fr), _node(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = _node(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ValueError("the consistency proof is too short")
    if fr != old_root:
        raise ValueError(f"it does not start from the root of size {old_size}")
    return sr


# --- 1. The package and its BagIt manifests ----------------------------------------------


def _manifest(package: Package, name: str, report: Report) -> dict[str, str]:
    algorithm = name.rsplit("-", 1)[1][: -len(".txt")]
    entries: dict[str, str] = {}
    for number, line in enumerate(package.text(name).splitlines(), 1):
        found = re.fullmatch(r"([0-9A-Fa-f]+)[ \t]+(.+)", line)
        if not found or not HEX_DIGEST[algorithm].fullmatch(found[1].lower()):
            report.fail(f"{name} line {number} is malformed")
            continue
        path = found[2].replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%")
        problem = outside_problem(path)
        if problem:
            report.fail(f"{name} line {number} names {path!r}, which {problem}: not opened")
        elif path in entries:
            report.fail(f"{name} lists {path} twice")
        else:
            entries[path] = found[1].lower()
    return entries


def _check_declaration(package: Package, report: Report) -> None:
    try:
        lines = package.text("bagit.txt").splitlines()
    except (OSError, ValueError) as exc:
        report.fail(f"bagit.txt: {exc}")
        return
    if lines != ["BagIt-Version: 1.0", "Tag-File-Character-Encoding: UTF-8"]:
        report.fail(f"bagit.txt does not declare BagIt 1.0 in UTF-8 (RFC 8493): {lines!r}")


def bag_info(package: Package) -> dict[str, list[str]]:
    """bag-info.txt's labels and values (a line starting with a space continues a value)."""
    info: dict[str, list[str]] = {}
    last: str | None = None
    for line in package.text("bag-info.txt").splitlines():
        if line[:1] in (" ", "\t") and last is not None:
            info[last][-1] += " " + line.strip()
            continue
        label, colon, value = line.partition(":")
        if not colon:
            raise ValueError(f"bag-info.txt line {line[:40]!r} has no label")
        last = label.strip()
        info.setdefault(last, []).append(value.strip())
    return info


def _check_top(package: Package, report: Report) -> None:
    """Only the tag files and data/ at the top; bagit.txt declares BagIt 1.0."""
    for name in TAG_FILES:
        if name not in package.files:
            report.fail(f"{name} is missing (a BagIt 1.0 package of this vault has it)")
    for name in sorted(set(package.files) - set(TAG_FILES)):
        if not name.startswith("data/"):
            report.fail(f"{name} is not a file this package is made of")
    for name in sorted(package.dirs - {"data"}):
        if not name.startswith("data/"):
            report.fail(f"folder {name} is not part of this package")
    if "bagit.txt" in package.files:
        _check_declaration(package, report)


def check_bag(package: Package, report: Report) -> None:
    """The payload against the BagIt manifests; every payload file is hashed once here."""
    _check_top(package, report)
    listed = {
        alg: _manifest(package, f"manifest-{alg}.txt", report)
        for alg in ALGORITHMS
        if f"manifest-{alg}.txt" in package.files
    }
    present, total = package.payload(), 0
    for name in present:
        found = package.hashes(name)
        total += package.files[name].st_size
        for alg, entries in listed.items():
            if name not in entries:
                report.fail(f"{name} is in the package but not in manifest-{alg}.txt")
            elif entries[name] != found[alg]:
                report.fail(f"{name} does not match its {alg.upper()} in manifest-{alg}.txt")
    for alg, entries in listed.items():
        for name in sorted(set(entries) - set(present)):
            report.fail(f"{name} is listed in manifest-{alg}.txt but is not in the package")
    try:
        oxum = bag_info(package).get("Payload-Oxum", [""])
    except (OSError, ValueError) as exc:
        report.fail(f"bag-info.txt: {exc}")
        oxum = [""]
    if oxum != [f"{total}.{len(present)}"]:
        report.fail(f"bag-info.txt Payload-Oxum is {oxum}; the payload is {total}.{len(present)}")
    _check_tag_manifests(package, report)
    report.ok(f"BagIt: {len(present)} payload files, {total:,} bytes re-hashed (SHA-256, SHA-512)")


def _check_tag_manifests(package: Package, report: Report) -> None:
    tags = {"bagit.txt", "bag-info.txt", "manifest-sha256.txt", "manifest-sha512.txt"}
    for alg in ALGORITHMS:
        name = f"tagmanifest-{alg}.txt"
        if name not in package.files:
            continue
        entries = _manifest(package, name, report)
        for path in sorted(set(entries) - tags):
            report.fail(f"{name} names {path}, which is not a tag file of this package")
        for path in sorted(tags - set(entries)):
            report.fail(f"{name} does not list {path}")
        for path in sorted(tags & set(entries)):
            if path in package.files and package.hashes(path, (alg,))[alg] != entries[path]:
                report.fail(f"{path} does not match {name}")


# --- 2. The checkpoint --------------------------------------------------------------------

LogKey = tuple[str, str, bytes]  # name, hex key ID, Ed25519 public key


def parse_key(text: str) -> LogKey:
    """A C2SP note verifier key: name+hexid+base64(0x01 || key), the ID matching the key."""
    name, _, rest = text.strip().partition("+")
    key_id, _, encoded = rest.partition("+")
    if not KEY_NAME.fullmatch(name) or not re.fullmatch(r"[0-9a-f]{8}", key_id):
        raise ValueError(f"{text[:60]!r} is not a note verifier key (name+keyid+base64)")
    try:
        raw = strict_base64(encoded)
    except ValueError:
        raise ValueError(f"verifier key {name}: its key is not base64") from None
    if raw[:1] != b"\x01" or len(raw) != 33:
        raise ValueError(f"verifier key {name} is not an Ed25519 key")
    if hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4].hex() != key_id:
        raise ValueError(f"verifier key {name} has a key ID that does not match its key")
    return name, key_id, raw[1:]


def key_text(key: LogKey) -> str:
    encoded = base64.b64encode(b"\x01" + key[2]).decode()
    return f"{key[0]}+{key[1]}+{encoded}"


def split_note(note: str) -> tuple[str, list[tuple[str, bytes]]]:
    """(text, [(key name, signature blob)]) of a C2SP signed note, or ValueError."""
    if not note.endswith("\n"):
        raise ValueError("it does not end in a newline")
    text, blank, block = note.partition("\n\n")
    if not blank or not block:
        raise ValueError("it has no blank line followed by signature lines")
    signatures = []
    for line in block[:-1].split("\n"):
        found = SIGNATURE_LINE.fullmatch(line)
        if not found:
            raise ValueError(f"malformed signature line {line[:60]!r}")
        try:
            blob = strict_base64(found[2])
        except ValueError:
            raise ValueError(f"the signature of {found[1]} is not base64") from None
        if len(blob) < 5:
            raise ValueError(f"the signature of {found[1]} is too short to hold a key ID")
        signatures.append((found[1], blob))
    return text + "\n", signatures


def parse_body(text: str) -> tuple[str, int, bytes, list[str]]:
    """origin, tree size, root hash and extension lines of a tlog checkpoint body."""
    lines = text.split("\n")[:-1]
    if len(lines) < 3 or not lines[0]:
        raise ValueError("it needs an origin, a tree size and a root hash line")
    if not DECIMAL.fullmatch(lines[1]):
        raise ValueError(f"tree size {lines[1][:30]!r} is not a decimal number")
    try:
        root = strict_base64(lines[2])
    except ValueError:
        raise ValueError("the root hash is not base64") from None
    if len(root) != 32:
        raise ValueError(f"the root hash has {len(root)} bytes, not 32")
    return lines[0], int(lines[1]), root, lines[3:]


def verify_note(
    note: str, keys: list[LogKey], label: str, report: Report
) -> tuple[str, list[LogKey]] | None:
    """The note's text and the trusted keys whose signatures verify, or None (reported)."""
    try:
        text, signatures = split_note(note)
    except ValueError as exc:
        report.fail(f"{label}: {exc}")
        return None
    signed, ignored = [], 0
    for name, blob in signatures:
        key = next((k for k in keys if k[0] == name and k[1] == blob[:4].hex()), None)
        if key is None:
            ignored += 1  # another log's key or a witness cosignature: not ours to judge
            continue
        if len(blob) != 68:
            report.fail(f"{label}: the signature of key {name} is not an Ed25519 signature")
            return None
        good, how = ed25519_verify(key[2], text.encode("utf-8"), blob[4:])
        if not good:
            report.fail(f"{label}: the signature of key {name} is forged")
            return None
        signed.append(key)
        report.ok(f"{label}: signed by {key_text(key)} (checked with {how})")
    if ignored:
        report.note(f"{label}: {ignored} signature(s) of other keys ignored (e.g. cosignatures)")
    if not signed:
        report.fail(f"{label} carries no valid signature from a trusted key")
        return None
    return text, signed


def check_checkpoint(
    package: Package, keys: list[LogKey], report: Report
) -> tuple[str, int, bytes, list[LogKey]] | None:
    """(origin, tree size, root, signing keys) of the package's checkpoint, if it verifies."""
    label = "data/custody/checkpoint.txt"
    try:
        note = package.text(label)
    except (OSError, ValueError) as exc:
        report.fail(f"{label}: {exc}")
        return None
    verified = verify_note(note, keys, label, report)
    if verified is None:
        return None
    try:
        origin, size, root, _ = parse_body(verified[0])
    except ValueError as exc:
        report.fail(f"{label}: {exc}")
        return None
    report.ok(f"checkpoint of {origin}: {size} entries, root {base64.b64encode(root).decode()}")
    return origin, size, root, verified[1]


def stamped_note(note: str, own: list[LogKey]) -> bytes:
    """The note as the vault time-stamped it: its text and the signature lines of the log's
    own keys. A witness's cosignature, added after the stamp, is not what was stamped."""
    text, _, block = note.partition("\n\n")
    kept = []
    for line in block[:-1].split("\n"):
        found = SIGNATURE_LINE.fullmatch(line)
        try:
            blob = strict_base64(found[2]) if found else b""
        except ValueError:
            blob = b""
        if found and any(k[0] == found[1] and k[1] == blob[:4].hex() for k in own):
            kept.append(line + "\n")
    return f"{text}\n\n{''.join(kept)}".encode()


def check_time_stamp(
    package: Package, promised: bool, own: list[LogKey], tsa_root: str | None, report: Report
) -> None:
    token = "data/custody/checkpoint.tsr"  # noqa: S105 - a file name
    if not promised:
        report.note("the signed manifest says the checkpoint has no RFC 3161 time stamp")
        return
    if token not in package.files:
        report.fail(f"{token} is missing: the signed manifest promises an RFC 3161 time stamp")
        return
    roots = tsa_root or os.path.join(package.root, "data", "custody", "tsa-roots.pem")
    if tsa_root is None:
        report.note("trusting the TSA root shipped in the package; pass --tsa-root to use yours")
    try:
        note = package.text("data/custody/checkpoint.txt")
    except (OSError, ValueError) as exc:
        report.fail(f"data/custody/checkpoint.txt: {exc}")
        return
    digest = hashlib.sha256(stamped_note(note, own)).hexdigest()
    command = ["openssl", "ts", "-verify", "-token_in", "-CAfile", roots, "-digest", digest,
               "-in", os.path.join(package.root, *token.split("/"))]  # fmt: skip
    if shutil.which("openssl") is None:
        report.unchecked.append("the RFC 3161 time stamp (install openssl)")
        report.note("RFC 3161 time stamp not checked: openssl is missing; run " + " ".join(command))
        return
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        report.fail(
            f"{token}: the RFC 3161 time stamp does not verify against {roots}: "
            + (done.stdout + done.stderr).strip()[-300:]
        )
    else:
        report.ok("RFC 3161 time stamp over the checkpoint verified with openssl")


# --- 3. Custody chains --------------------------------------------------------------------


def _load_entries(
    package: Package, rel: str, report: Report
) -> list[tuple[bytes, dict[str, Any]]] | None:
    entries = []
    for number, line in enumerate(package.read(f"{rel}/entries.jsonl").split(b"\n"), 1):
        if not line:
            continue
        try:
            entries.append((line, parse_entry(line)))
        except ValueError as exc:
            report.fail(f"{rel}/entries.jsonl line {number}: {exc}")
            return None
    return entries


def _entry_problem(
    item: str,
    entry: dict[str, Any],
    proof: dict[str, Any],
    position: tuple[int, bytes, int],
    tree: tuple[int, bytes],
) -> str | None:
    index, prev, last_seq = position
    if entry.get("item") != item:
        return f"belongs to item {entry.get('item')}"
    if not isinstance(entry.get("seq"), int) or entry["seq"] <= last_seq:
        return "is out of order"
    if proof.get("seq") != entry["seq"] or entry["seq"] > tree[0]:
        return "does not match its proof or lies beyond the checkpoint"
    committed = (entry.get("data") or {}).get("chain_before")
    if committed and committed != {"entries": index, "head": prev.hex()}:
        return (
            f"records {committed.get('entries')} earlier entries ending in"
            f" {str(committed.get('head'))[:16]}…; the package holds {index}"
            " that end otherwise: an entry was removed or altered"
        )
    return None


def _inclusion_problem(
    line: bytes, seq: int, proof: dict[str, Any], tree: tuple[int, bytes]
) -> str | None:
    leaf = hashlib.sha256(b"\x00" + line).digest()
    try:
        path = [bytes.fromhex(h) for h in proof.get("inclusion_proof", [])]
        if root_from_inclusion(seq - 1, tree[0], leaf, path) != tree[1]:
            return "is not in the signed checkpoint (its inclusion proof fails)"
    except (TypeError, ValueError) as exc:
        return f"has a malformed inclusion proof ({exc})"
    return None


def check_chain(
    package: Package, item: str, tree: tuple[int, bytes], report: Report
) -> list[dict[str, Any]]:
    """The item's entries, if its chain and every proof hold; [] after a failure."""
    rel = f"data/custody/{item}"
    try:
        entries = _load_entries(package, rel, report)
        proofs = json.loads(package.text(f"{rel}/proofs.json"))
    except (OSError, ValueError) as exc:
        report.fail(f"{rel}: {exc}")
        return []
    if entries is None:
        return []
    listed = proofs.get("entries", []) if isinstance(proofs, dict) else []
    if len(listed) != len(entries) or proofs.get("tree_size") != tree[0]:
        report.fail(
            f"{rel}: entries.jsonl has {len(entries)} entries, proofs.json"
            f" {len(listed)} into a tree of {proofs.get('tree_size')} (checkpoint: {tree[0]})"
        )
        return []
    prev, last_seq = ZERO, 0
    for index, (line, entry) in enumerate(entries):
        chained = hashlib.sha256(b"\x02" + prev + line).digest()
        problem = _entry_problem(item, entry, listed[index], (index, prev, last_seq), tree)
        if problem is None and listed[index].get("entry_hash") != chained.hex():
            problem = "does not follow from the entries before it (hash chain broken)"
        if problem is None:
            problem = _inclusion_problem(line, entry["seq"], listed[index], tree)
        if problem:
            report.fail(f"{rel} entry seq {entry.get('seq')} ({entry.get('kind')}) {problem}")
            return []
        prev, last_seq = chained, entry["seq"]
    report.ok(f"{rel}: {len(entries)} custody entries chained and proven into the checkpoint")
    return [entry for _, entry in entries]


# --- 4. The signed manifest: exactly these files, this recipient, this time stamp ----------


def check_statement(
    package: Package, export: str, chains: dict[str, list[dict[str, Any]]], report: Report
) -> bool:
    """Each item's export_packaged entry records the manifest's, report's and verifier's
    SHA-256 as found in the package; True when every item's does."""
    found = {}
    for label, field in (
        (MANIFEST, "manifest_sha256"),
        ("data/report.pdf", "report_sha256"),
        ("data/verify.py", "verify_sha256"),
    ):
        found[field] = (label, package.sha256(label) if label in package.files else None)
    bound = True
    for item, chain in chains.items():
        packaged = [
            e
            for e in chain
            if e.get("kind") == "export_packaged" and (e.get("data") or {}).get("export") == export
        ]
        if len(packaged) != 1:
            report.fail(
                f"data/custody/{item}: no export_packaged entry of export {export} (the chain"
                " was cut short, or the package was never completed)"
            )
            bound = False
            continue
        for field, (label, digest) in found.items():
            if digest is None or packaged[0]["data"].get(field) != digest:
                report.fail(
                    f"{label} is not the file export {export} recorded in item {item}'s entry"
                    f" seq {packaged[0]['seq']} (export_packaged)"
                )
                bound = False
    if bound and chains:
        report.ok(
            f"{MANIFEST} (SHA-256 {found['manifest_sha256'][1]}), data/report.pdf and"
            " data/verify.py are the files every item's export_packaged entry records"
        )
    return bound


def expected_files(index: dict[str, Any], report: Report) -> dict[str, dict[str, Any] | None]:
    """Every payload path the signed manifest implies: its files (with what it says of them)
    and the proofs, which are checked by what they prove."""
    proofs = [
        "data/verify.py",
        "data/report.pdf",
        MANIFEST,
        "data/custody/checkpoint.txt",
        "data/custody/log-keys.txt",
        "data/custody/consistency.json",
    ]
    if index.get("checkpoint_time_stamped") is True:
        proofs += ["data/custody/checkpoint.tsr", "data/custody/tsa-roots.pem"]
    for item in index.get("items", []):
        proofs += [f"data/custody/{item}/entries.jsonl", f"data/custody/{item}/proofs.json"]
    expected: dict[str, dict[str, Any] | None] = {name: None for name in proofs}
    for listed in index.get("files", []):
        path = listed.get("path") if isinstance(listed, dict) else None
        if not isinstance(path, str):
            report.fail(f"{MANIFEST} lists a file without a path")
            continue
        problem = outside_problem(path)
        if problem or not path.startswith("data/") or path in expected:
            report.fail(f"{MANIFEST} names {path!r}, which {problem or 'it may not name'}")
            continue
        expected[path] = listed
    return expected


def check_inventory(package: Package, index: dict[str, Any], report: Report) -> None:
    """The package holds exactly the files and folders the signed manifest implies."""
    expected = expected_files(index, report)
    present = set(package.payload())
    for name in sorted(present - set(expected)):
        report.fail(f"{name} is in the package but not in the export's signed manifest")
    for name in sorted(set(expected) - present):
        report.fail(f"{name} is named by the export's signed manifest but missing")
    folders = {"data"}
    for name in expected:
        parts = name.split("/")
        folders.update("/".join(parts[:n]) for n in range(1, len(parts)))
    for name in sorted({d for d in package.dirs if d.startswith("data/")} - folders):
        report.fail(f"folder {name} is not part of the export (its signed manifest names none)")
    for name, listed in expected.items():
        if listed is None or name not in present:
            continue
        if package.sha256(name) != listed.get("sha256"):
            report.fail(f"{name} does not have the SHA-256 the export's signed manifest records")
        elif package.files[name].st_size != listed.get("size"):
            report.fail(f"{name} does not have the size the export's signed manifest records")
    report.ok(f"the package holds exactly the {len(expected)} files its signed manifest implies")


def check_bag_info(package: Package, index: dict[str, Any], report: Report) -> None:
    signed = index.get("bag_info")
    if not isinstance(signed, dict) or not signed:
        report.fail(f"{MANIFEST} does not state the package's bag-info.txt")
        return
    try:
        info = bag_info(package)
    except (OSError, ValueError) as exc:
        report.fail(f"bag-info.txt: {exc}")
        return
    for label in sorted(set(info) - set(signed) - set(UNSIGNED_BAG_INFO)):
        report.fail(f"bag-info.txt {label} is not in the export's signed manifest")
    for label, value in sorted(signed.items()):
        if info.get(label) != [value]:
            report.fail(
                f"bag-info.txt {label} is {info.get(label)}; the export's signed manifest says"
                f" {value!r}"
            )
    report.ok(f"bag-info.txt: recipient {signed.get('Recipient')!r}, as signed")


# --- 5. Files against the custody record --------------------------------------------------


def check_files(
    index: dict[str, Any], chains: dict[str, list[dict[str, Any]]], report: Report
) -> None:
    """The signed manifest's files against each item's custody entries."""
    export = index.get("export")
    for entry in index.get("files", []):
        path, item, role, digest = entry["path"], entry["item"], entry["role"], entry["sha256"]
        chain = chains.get(item)
        if not chain or role not in ("original", "sidecar", "rendition", "clip"):
            continue
        exported = [
            e
            for e in chain
            if e.get("kind") == "exported"
            and e["data"].get("export") == export
            and e["data"].get("file") == path
        ]
        if not exported or exported[-1]["data"].get("digest") != digest:
            report.fail(f"{path} is not the file item {item}'s custody records as exported")
        if role == "original":
            ingested = [e for e in chain if e.get("kind") == "ingested"]
            if not ingested or ingested[0]["data"].get("digest") != digest:
                report.fail(f"{path} is not the recording item {item} was ingested as")
        if role == "sidecar":
            received = [
                (e["data"].get("sidecar") or {}).get("digest")
                for e in chain
                if e.get("kind") in ("ingested", "received_again")
            ]
            if digest not in received:
                report.fail(f"{path} is not a sidecar item {item} was received with")
    report.ok(f"{len(index.get('files', []))} files match the custody record of their items")


# --- 6. Earlier checkpoints: the report's, and one the recipient holds --------------------


def check_extends(
    package: Package, old: tuple[int, bytes], tree: tuple[int, bytes], what: str, report: Report
) -> bool:
    """The package's checkpoint extends (size, root) ``old``, by the shipped proof."""
    size, root = old
    if size == tree[0]:
        if root != tree[1]:
            report.fail(f"{what} (size {size}) has another root than the package's checkpoint")
            return False
        return True
    if size > tree[0]:
        report.fail(
            f"{what} (size {size}) is newer than the package's checkpoint (size {tree[0]}):"
            " nothing in the package can prove it"
        )
        return False
    try:
        shipped = json.loads(package.text("data/custody/consistency.json"))
        proofs = (
            {p["tree_size"]: p for p in shipped["from"]} if shipped["tree_size"] == tree[0] else {}
        )
        proof = proofs.get(size)
        if proof is None:
            report.fail(
                f"data/custody/consistency.json holds no proof from size {size} ({what});"
                " the package proves consistency with the last 92 days' checkpoints and the"
                " last of each month"
            )
            return False
        path = [bytes.fromhex(h) for h in proof["proof"]]
        if root_from_consistency(size, tree[0], root, path) != tree[1]:
            raise ValueError("it does not lead to the package's checkpoint")
    except (OSError, KeyError, TypeError, ValueError) as exc:
        report.fail(f"data/custody/consistency.json: {what} (size {size}) is not proven: {exc}")
        return False
    report.ok(f"the package's checkpoint extends {what} (size {size})")
    return True


def read_witness(
    path: str, keys: list[LogKey], report: Report
) -> tuple[int, bytes, list[LogKey]] | None:
    """A witness file (`evault checkpoint export`) the recipient holds: its checkpoint's size
    and root, checked with ``keys`` or, when none are given, the keys the file names."""
    try:
        with open(path, encoding="utf-8") as stream:
            document = json.load(stream)
        held = keys or [parse_key(k) for k in document["verifier_keys"]]
        note = document["checkpoint"]
    except (OSError, KeyError, TypeError, ValueError) as exc:
        report.fail(f"--witness {path}: not a witness file ({exc})")
        return None
    verified = verify_note(note, held, f"--witness {path}", report)
    if verified is None:
        return None
    try:
        _, size, root, _ = parse_body(verified[0])
    except ValueError as exc:
        report.fail(f"--witness {path}: {exc}")
        return None
    return size, root, held


# --- The verdict --------------------------------------------------------------------------


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        epilog="Exit status: 0 verified, 1 a check failed, 2 a usage error.",
    )
    parser.add_argument(
        "--key",
        action="append",
        default=[],
        metavar="KEY",
        help="the vault's published log verifier key (name+keyid+base64);"
        " repeatable; proves the package came from the vault holding it",
    )
    parser.add_argument(
        "--witness",
        metavar="FILE",
        help="a checkpoint file you hold from the vault (`evault checkpoint"
        " export`): proves the package's log extends it",
    )
    parser.add_argument(
        "--tsa-root",
        metavar="PEM",
        help="the RFC 3161 TSA's root certificate you trust, instead of the"
        " one shipped in the package",
    )
    parser.add_argument(
        "bag",
        nargs="?",
        help="the package's top folder (default: the one holding data/verify.py)",
        default=os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir),
    )
    return parser.parse_args(argv)


def shipped_keys(package: Package, report: Report) -> list[LogKey]:
    """The log keys the package names (data/custody/log-keys.txt)."""
    try:
        texts = package.text("data/custody/log-keys.txt").split()
    except (OSError, ValueError) as exc:
        report.fail(f"data/custody/log-keys.txt: {exc}")
        return []
    return _parsed(texts, report)


def _trusted_keys(args: argparse.Namespace, package: Package, report: Report) -> list[LogKey]:
    if not args.key and not args.witness:
        report.note(
            "trusting the log keys shipped in the package: this proves the package"
            " consistent with itself, not where it came from"
        )
        return shipped_keys(package, report)
    return _parsed(args.key, report)


def _parsed(texts: list[str], report: Report) -> list[LogKey]:
    keys = []
    for text in texts:
        try:
            keys.append(parse_key(text))
        except ValueError as exc:
            report.fail(f"log key: {exc}")
    return keys


def _manifest_index(package: Package, report: Report) -> dict[str, Any]:
    try:
        index = json.loads(package.text(MANIFEST))
    except (OSError, ValueError) as exc:
        report.fail(f"{MANIFEST}: {exc}")
        return {}
    if not isinstance(index, dict) or index.get("format") != MANIFEST_FORMAT:
        report.fail(f"{MANIFEST} is not an export manifest ({MANIFEST_FORMAT})")
        return {}
    return index


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    report = Report()
    package = Package(Path(args.bag).resolve(), report)
    report.ok(f"checking the evidence package {package.root}")
    check_bag(package, report)
    index = _manifest_index(package, report)
    keys = _trusted_keys(args, package, report)
    witness = read_witness(args.witness, keys, report) if args.witness else None
    checkpoint = check_checkpoint(package, witness[2] if witness else keys, report)
    chains: dict[str, list[dict[str, Any]]] = {}
    export = str(index.get("export"))
    if checkpoint is not None:
        tree = (checkpoint[1], checkpoint[2])
        for item in index.get("items", []):
            chains[item] = check_chain(package, str(item), tree, report)
        before = index.get("checkpoint_before") or {}
        try:
            old = (int(before["tree_size"]), strict_base64(before["root"]))
            check_extends(package, old, tree, "the checkpoint the report states", report)
        except (KeyError, TypeError, ValueError):
            report.fail(f"{MANIFEST}: checkpoint_before is malformed")
        if witness is not None:
            check_extends(package, witness[:2], tree, "the checkpoint you witnessed", report)
    if index:
        if not index.get("items"):
            report.fail(f"{MANIFEST} names no item")
        check_statement(package, export, chains, report)
        check_inventory(package, index, report)
        check_bag_info(package, index, report)
        own = (checkpoint[3] if checkpoint else []) + shipped_keys(package, report)
        promised = index.get("checkpoint_time_stamped") is True
        check_time_stamp(package, promised, own, args.tsa_root, report)
        check_files(index, chains, report)
    mine = package.sha256("data/verify.py") if "data/verify.py" in package.files else "(missing)"
    report.note(
        f"this verify.py's SHA-256 is {mine}:"
        " compare it with the report's and the vault's published copy"
    )
    return _verdict(report, index, checkpoint, args)


def _verdict(
    report: Report,
    index: dict[str, Any],
    checkpoint: tuple[str, int, bytes, list[LogKey]] | None,
    args: argparse.Namespace,
) -> int:
    if report.problems or checkpoint is None:
        print(
            f"\nVERDICT: FAILED. {len(report.problems)} problem(s);"
            " the package cannot be relied on as it is."
        )
        return 1
    origin, size, _, signers = checkpoint
    items = len(index.get("items", []))
    what = f"Export {index.get('export')}: {items} item(s); every file and custody entry checked"
    if report.unchecked:
        what += " (not checked: " + "; ".join(report.unchecked) + ")"
    if args.key or args.witness:
        also = "; it extends the checkpoint you witnessed" if args.witness else ""
        print(
            f"\nVERDICT: VERIFIED. {what}. From vault {origin}: checkpoint of {size} entries"
            f" signed by key {key_text(signers[0])}{also}."
        )
    else:
        print(
            f"\nVERDICT: VERIFIED, consistent with itself, origin not proven. {what}. To prove"
            " it came from the vault, run again with --key and the vault's published verifier"
            " key, or --witness with a checkpoint file you hold from it."
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

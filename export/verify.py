#!/usr/bin/env python3
"""Check this evidence package offline, with nothing but Python (3.9 or later).

    python data/verify.py                 # from the package's top folder
    python data/verify.py --key KEY       # and accept checkpoints signed by KEY only

It checks, and says which check failed and on which file or custody entry:
  1. the BagIt package (RFC 8493): every payload file is in the SHA-256 and SHA-512
     manifests and nothing else is, every file re-hashes to its entries, Payload-Oxum and the
     tag manifests hold;
  2. the checkpoint: its Ed25519 signature (C2SP signed note) by a log key, and its RFC 3161
     time stamp when openssl is installed to check it;
  3. every item's custody chain: each entry is canonical JSON (RFC 8785), the hash chain
     SHA-256(0x02 || previous || entry) recomputes, each entry's RFC 9162 inclusion proof
     leads to the checkpoint's root, and the export's own entries commit to the chain before
     them (so a removed entry shows);
  4. every original, rendition and clip against the custody record: the digest recorded at
     ingest and in this export's exported entry, and the original each derivative names.

The log keys shipped in the package prove only that the package is consistent with itself.
To prove it came from the vault, pass the vault's published verifier key with --key (the
report lists its key ID). Ed25519 is checked with the `cryptography` package when it is
installed, otherwise with the RFC 8032 reference arithmetic below (slower, same result).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

CHUNK = 1 << 20
ZERO = bytes(32)
EM_DASH = "\u2014"


class Report:
    def __init__(self) -> None:
        self.problems: list[str] = []
        self.notes: list[str] = []

    def fail(self, message: str) -> None:
        self.problems.append(message)
        print(f"FAILED  {message}")

    def ok(self, message: str) -> None:
        print(f"ok      {message}")

    def note(self, message: str) -> None:
        self.notes.append(message)
        print(f"note    {message}")


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


# --- 1. BagIt ---------------------------------------------------------------------------


def _hash_file(path: Path) -> tuple[str, str, int]:
    sha256, sha512, size = hashlib.sha256(), hashlib.sha512(), 0
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(CHUNK), b""):
            sha256.update(chunk)
            sha512.update(chunk)
            size += len(chunk)
    return sha256.hexdigest(), sha512.hexdigest(), size


def _manifest(path: Path, report: Report) -> dict[str, str]:
    entries: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        digest, _, name = line.strip().partition(" ")
        name = name.strip().replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%")
        if not name:
            report.fail(f"{path.name} line {number} is malformed")
            continue
        entries[name] = digest.lower()
    return entries


def _payload_hashes(bag: Path, listed: dict[str, dict[str, str]], report: Report) -> dict[str, str]:
    present = sorted(
        p.relative_to(bag).as_posix() for p in (bag / "data").rglob("*") if p.is_file()
    )
    hashed: dict[str, str] = {}
    total = 0
    for name in present:
        sha256, sha512, size = _hash_file(bag / name)
        hashed[name], total = sha256, total + size
        for alg, found in (("sha256", sha256), ("sha512", sha512)):
            if name not in listed.get(alg, {name: found}):
                report.fail(f"{name} is in the package but not in manifest-{alg}.txt")
            elif listed.get(alg, {name: found})[name] != found:
                report.fail(f"{name} does not match its {alg.upper()} in manifest-{alg}.txt")
    for alg, entries in listed.items():
        for name in sorted(set(entries) - set(present)):
            report.fail(f"{name} is listed in manifest-{alg}.txt but missing from the package")
    oxum = _bag_info(bag).get("Payload-Oxum", "")
    if oxum != f"{total}.{len(present)}":
        report.fail(f"bag-info.txt Payload-Oxum is {oxum!r}; the payload is {total}.{len(present)}")
    report.ok(f"BagIt: {len(present)} payload files, {total:,} bytes re-hashed (SHA-256, SHA-512)")
    return hashed


def _check_tag_manifests(bag: Path, report: Report) -> None:
    for tag_manifest in sorted(bag.glob("tagmanifest-*.txt")):
        algorithm = tag_manifest.name[len("tagmanifest-") : -len(".txt")]
        for name, digest in _manifest(tag_manifest, report).items():
            target = bag / name
            if not target.is_file():
                report.fail(f"{name} is in {tag_manifest.name} but missing")
            elif hashlib.new(algorithm, target.read_bytes()).hexdigest() != digest:
                report.fail(f"{name} does not match {tag_manifest.name}")


def check_bag(bag: Path, report: Report) -> dict[str, str]:
    """Returns the SHA-256 of every payload file, as re-hashed."""
    if not (bag / "bagit.txt").is_file():
        report.fail("bagit.txt is missing: this is not a BagIt package")
        return {}
    listed = {}
    for alg in ("sha256", "sha512"):
        path = bag / f"manifest-{alg}.txt"
        if path.is_file():
            listed[alg] = _manifest(path, report)
        else:
            report.fail(f"manifest-{alg}.txt is missing")
    hashed = _payload_hashes(bag, listed, report)
    _check_tag_manifests(bag, report)
    return hashed


def _bag_info(bag: Path) -> dict[str, str]:
    info: dict[str, str] = {}
    path = bag / "bag-info.txt"
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            label, _, value = line.partition(":")
            if value and not line[:1].isspace():
                info[label.strip()] = value.strip()
    return info


# --- 2. The checkpoint --------------------------------------------------------------------


def _parse_key(text: str) -> tuple[str, str, bytes]:
    name, key_id, encoded = text.strip().split("+", 2)
    raw = base64.b64decode(encoded)
    if raw[:1] != b"\x01" or len(raw) != 33:
        raise ValueError(f"verifier key {name} is not an Ed25519 key")
    expected = hashlib.sha256(name.encode() + b"\n" + raw[:1] + raw[1:]).digest()[:4].hex()
    if expected != key_id:
        raise ValueError(f"verifier key {name} has a key ID that does not match its key")
    return name, key_id, raw[1:]


def check_checkpoint(custody: Path, keys: list[str], report: Report) -> tuple[int, bytes] | None:
    """(tree size, root hash) of a checkpoint signed by one of ``keys``."""
    path = custody / "checkpoint.txt"
    if not path.is_file():
        report.fail("data/custody/checkpoint.txt is missing")
        return None
    note = path.read_text(encoding="utf-8")
    text, _, signatures = note[:-1].rpartition("\n\n")
    known = {}
    for key in keys:
        try:
            name, key_id, public = _parse_key(key)
        except ValueError as exc:
            report.fail(f"log key {key[:40]!r}: {exc}")
            continue
        known[key_id] = (name, public)
    verified = []
    for line in signatures.split("\n"):
        dash, _, rest = line.partition(" ")
        name, _, encoded = rest.partition(" ")
        try:
            blob = base64.b64decode(encoded)
        except ValueError:
            blob = b""
        if dash != EM_DASH or len(blob) != 68:
            report.fail(f"data/custody/checkpoint.txt: malformed signature line {line[:60]!r}")
            continue
        signer = known.get(blob[:4].hex())
        if signer is None or signer[0] != name:
            continue
        good, how = ed25519_verify(signer[1], (text + "\n").encode(), blob[4:])
        if not good:
            report.fail(f"data/custody/checkpoint.txt: the signature of key {name} is forged")
            return None
        verified.append(f"{name} (key ID {blob[:4].hex()}, checked with {how})")
    if not verified:
        report.fail("data/custody/checkpoint.txt carries no valid signature from a trusted key")
        return None
    lines = text.split("\n")
    try:
        size, root = int(lines[1]), base64.b64decode(lines[2])
    except (IndexError, ValueError):
        report.fail("data/custody/checkpoint.txt: the tree size or root hash is malformed")
        return None
    report.ok(
        f"checkpoint of {size} entries ({lines[3] if len(lines) > 3 else ''}) signed by "
        + ", ".join(verified)
    )
    _check_time_stamp(custody, report)
    return size, root


def _check_time_stamp(custody: Path, report: Report) -> None:
    token, roots = custody / "checkpoint.tsr", custody / "tsa-roots.pem"
    if not token.is_file():
        report.note("the checkpoint has no RFC 3161 time stamp (no TSA was configured)")
        return
    command = [
        "openssl",
        "ts",
        "-verify",
        "-data",
        str(custody / "checkpoint.txt"),
        "-in",
        str(token),
        "-token_in",
        "-CAfile",
        str(roots),
    ]
    if shutil.which("openssl") is None:
        report.note(
            "RFC 3161 time stamp not checked: openssl is not installed; run " + " ".join(command)
        )
        return
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        report.fail(
            "data/custody/checkpoint.tsr: the RFC 3161 time stamp does not verify: "
            + (done.stdout + done.stderr).strip()[-300:]
        )
    else:
        report.ok("RFC 3161 time stamp over the checkpoint verified with openssl")


# --- 3. Custody chains --------------------------------------------------------------------


def _load_entries(
    folder: Path, rel: str, report: Report
) -> list[tuple[bytes, dict[str, Any]]] | None:
    entries = []
    for number, line in enumerate((folder / "entries.jsonl").read_bytes().split(b"\n"), 1):
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
    except ValueError as exc:
        return f"has a malformed inclusion proof ({exc})"
    return None


def check_chain(
    bag: Path, item: str, export: str, tree: tuple[int, bytes], report: Report
) -> list[dict[str, Any]]:
    """The item's entries, if its chain and every proof hold; [] after a failure."""
    folder, rel = bag / "data" / "custody" / item, f"data/custody/{item}"
    try:
        entries = _load_entries(folder, rel, report)
        proofs = json.loads((folder / "proofs.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        report.fail(f"{rel}: {exc}")
        return []
    if entries is None:
        return []
    listed = proofs.get("entries", [])
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
    documents = [entry for _, entry in entries]
    mine = [
        e
        for e in documents
        if e.get("kind") == "exported" and (e.get("data") or {}).get("export") == export
    ]
    if not mine:
        report.fail(f"{rel}: no exported entry of export {export}: the chain was cut short")
        return []
    report.ok(f"{rel}: {len(documents)} custody entries chained and proven into the checkpoint")
    return documents


# --- 4. Files against the custody record --------------------------------------------------


def check_files(
    bag: Path,
    index: dict[str, Any],
    chains: dict[str, list[dict[str, Any]]],
    hashed: dict[str, str],
    report: Report,
) -> None:
    export = index.get("export")
    described = {f["path"] for f in index.get("files", [])}
    for name in sorted(hashed):
        top = name.split("/")[1] if name.count("/") > 1 else ""
        if top in ("originals", "sidecars", "renditions", "clips") and name not in described:
            report.fail(f"{name} is not one of the files this export made")
    for entry in index.get("files", []):
        path, item, role, digest = entry["path"], entry["item"], entry["role"], entry["sha256"]
        if hashed.get(path) != digest:
            report.fail(f"{path} does not have the SHA-256 the export recorded for it")
            continue
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--key",
        action="append",
        default=[],
        help="a trusted log verifier key (name+keyid+base64); repeatable",
    )
    parser.add_argument(
        "bag",
        nargs="?",
        default=os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir),
    )
    args = parser.parse_args(argv)
    bag, report = Path(args.bag).resolve(), Report()
    print(f"Checking the evidence package {bag}")
    hashed = check_bag(bag, report)
    custody = bag / "data" / "custody"
    try:
        index = json.loads((custody / "export.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        report.fail(f"data/custody/export.json: {exc}")
        index = {}
    shipped = (
        (custody / "log-keys.txt").read_text(encoding="utf-8").split()
        if (custody / "log-keys.txt").is_file()
        else []
    )
    if not args.key:
        report.note(
            "trusting the log keys shipped in the package; pass --key with the vault's"
            " published key to prove the package came from it"
        )
    tree = check_checkpoint(custody, args.key or shipped, report)
    chains: dict[str, list[dict[str, Any]]] = {}
    if tree is not None:
        for item in index.get("items", []):
            chains[item] = check_chain(bag, item, str(index.get("export")), tree, report)
    if index:
        check_files(bag, index, chains, hashed, report)
    if report.problems:
        print(
            f"\nVERDICT: FAILED. {len(report.problems)} problem(s);"
            " the package cannot be relied on as it is."
        )
        return 1
    print(
        f"\nVERDICT: VERIFIED. Export {index.get('export')}: {len(chains)} item(s);"
        " every file and custody entry checked."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

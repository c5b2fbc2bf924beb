"""data/custody/ of an export: what lets a stranger check the custody of every item offline.

For each item: entries.jsonl (each entry's exact RFC 8785 bytes, one per line: JCS output
never holds a raw newline), proofs.json (each entry's chain hash and its RFC 9162 inclusion
proof into the checkpoint) and item.json (the written description, listed in the signed
manifest). Beside them: the signed checkpoint note, its RFC 3161 token and the TSA roots when
there is one, the log's public keys, and consistency proofs from earlier checkpoints.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from custody.log.proof_models import Checkpoint
from custody.log.proofs import ProofBundle, consistency, item_bundle
from export.payload import PackageFile
from export.spec import Authorized
from vault.models import EvidenceItem

# A recipient's witnessed checkpoint is proven against the package's when it is one of the
# last WITNESS_DAYS days' checkpoints or the last of its month (the vault signs hourly).
WITNESS_DAYS = 92


@dataclass(frozen=True)
class ExportFacts:
    number: str
    made_at: datetime
    organisation: str
    actor: str
    reason: str
    zone: str  # display_timezone: the report shows every instant in it, with its offset


def _when(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def describe(item: EvidenceItem) -> dict[str, Any]:
    """The written description courts expect: recorder, time, place, matter, counterparty
    (place and counterparty as the station's metadata recorded them, when it did)."""
    metadata = dict(item.station_metadata or {})
    return {
        "item": str(item.id),
        "sha256": item.digest,
        "size": item.size,
        "media_type": item.media_type,
        "original_name": item.original_name,
        "recorder": item.officer,
        "device": item.device.serial if item.device else None,
        "station": item.station.name,
        "recorded_start": _when(item.recorded_start),
        "recorded_end": _when(item.recorded_end),
        "place": metadata.get("location") or metadata.get("place"),
        "matter": item.case.title if item.case else metadata.get("matter"),
        "case": item.case.number if item.case else None,
        "station_location": item.station.location or None,
        "counterparty": metadata.get("counterparty"),
        "docked_at": _when(item.docked_at),
        "ingested_at": _when(item.ingested_at),
        "retention": {
            "until": _when(item.retain_until) or "permanent",
            "rule": item.retention_rule,
        },
    }


def _write_json(path: Path, document: object) -> None:
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _item_files(root: Path, bundle: ProofBundle) -> None:
    folder = root / "custody" / str(bundle.entries[0].event.item_id)
    folder.mkdir(parents=True, exist_ok=True)
    # Entries appended after the checkpoint (a fixity check meanwhile) belong to a later
    # package: this one holds what its checkpoint proves, the export's own entries included.
    proven = [(entry, entry.proof) for entry in bundle.entries if entry.proof is not None]
    with open(folder / "entries.jsonl", "wb") as out:
        for entry, _ in proven:
            out.write(entry.canonical + b"\n")
    proofs = [
        {
            "seq": entry.event.seq,
            "entry_hash": bytes(entry.event.entry_hash).hex(),
            "leaf_hash": entry.leaf_hash.hex(),
            "inclusion_proof": [h.hex() for h in proof],
        }
        for entry, proof in proven
    ]
    _write_json(
        folder / "proofs.json", {"tree_size": bundle.checkpoint.tree_size, "entries": proofs}
    )


def write_descriptions(root: Path, auth: Authorized) -> list[PackageFile]:
    """custody/<item>/item.json, the written description of each item (in the manifest)."""
    files = []
    for item in auth.items:
        path = f"custody/{item.id}/item.json"
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        _write_json(root / path, describe(item))
        data = (root / path).read_bytes()
        files.append(
            PackageFile(path, item.id, "description", hashlib.sha256(data).hexdigest(), len(data))
        )
    return files


@dataclass(frozen=True)
class CustodyWritten:
    checkpoint: Checkpoint
    bundles: dict[str, ProofBundle]  # by item id
    verifier_keys: list[str]

    @property
    def key_ids(self) -> list[str]:
        return [key.split("+")[1] for key in self.verifier_keys]


def proof_bundles(session: Session, auth: Authorized, checkpoint: Checkpoint) -> CustodyWritten:
    """Every exported item's entries with their inclusion proofs into ``checkpoint``."""
    bundles = {str(item.id): item_bundle(session, item.id, checkpoint) for item in auth.items}
    keys = next(iter(bundles.values())).verifier_keys
    return CustodyWritten(checkpoint, bundles, keys)


def _witnessable(session: Session, package: Checkpoint) -> dict[int, bytes]:
    """Tree size -> root of the earlier checkpoints a recipient may hold (`evault checkpoint
    export`): every one of the last WITNESS_DAYS days and the last of each earlier month. Only
    the columns are read: a vault signs up to one checkpoint an hour for decades."""
    recent = package.created_at - timedelta(days=WITNESS_DAYS)
    rows = session.execute(
        select(Checkpoint.tree_size, Checkpoint.root_hash, Checkpoint.created_at)
        .where(Checkpoint.tree_size > 0, Checkpoint.tree_size < package.tree_size)
        .order_by(Checkpoint.tree_size, Checkpoint.id)
    )
    roots: dict[int, bytes] = {}
    last_of_month: dict[str, tuple[int, bytes]] = {}
    for size, root, created in rows:
        if created >= recent:
            roots[size] = bytes(root)
        else:
            last_of_month[f"{created:%Y-%m}"] = (size, bytes(root))
    roots.update(dict(last_of_month.values()))
    return roots


def write_proofs(
    session: Session, root: Path, written: CustodyWritten, *, before: Checkpoint, tsa: list[Path]
) -> None:
    """The self-proving part of data/custody/: entries, inclusion proofs, the signed
    checkpoint (and its time stamp), the log's keys, and consistency proofs from the
    checkpoint the report states and from the earlier checkpoints a recipient may witness."""
    checkpoint = written.checkpoint
    for bundle in written.bundles.values():
        _item_files(root, bundle)
    folder = root / "custody"
    (folder / "checkpoint.txt").write_text(checkpoint.note, encoding="utf-8")
    keys = "".join(f"{key}\n" for key in written.verifier_keys)
    (folder / "log-keys.txt").write_text(keys, encoding="utf-8")
    if checkpoint.timestamp_token:
        (folder / "checkpoint.tsr").write_bytes(bytes(checkpoint.timestamp_token))
        (folder / "tsa-roots.pem").write_bytes(b"".join(path.read_bytes() for path in tsa))
    earlier = _witnessable(session, checkpoint)
    earlier[before.tree_size] = bytes(before.root_hash)
    proofs = [
        {
            "tree_size": size,
            "root": base64.b64encode(earlier[size]).decode(),
            "proof": [
                h.hex() for h in consistency(session, old_size=size, new_size=checkpoint.tree_size)
            ],
        }
        for size in sorted(earlier)
        if size < checkpoint.tree_size
    ]
    _write_json(folder / "consistency.json", {"tree_size": checkpoint.tree_size, "from": proofs})

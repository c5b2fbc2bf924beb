"""data/custody/ of an export: what lets a stranger check the custody of every item offline.

For each item: entries.jsonl (each entry's exact RFC 8785 bytes, one per line: JCS output
never holds a raw newline), proofs.json (each entry's chain hash and its RFC 9162 inclusion
proof into the checkpoint) and item.json (the written description). Beside them: the signed
checkpoint note, its RFC 3161 token and the TSA roots when there is one, the log's public
keys, and export.json, the index of every payload file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from custody.log.checkpoints import latest_checkpoint
from custody.log.proof_models import Checkpoint
from custody.log.proofs import ProofBundle, item_bundle
from export.payload import ExportAborted, PackageFile
from export.spec import Authorized
from vault.models import EvidenceItem


@dataclass(frozen=True)
class ExportFacts:
    number: str
    made_at: datetime
    organisation: str
    actor: str
    reason: str


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


def _item_files(root: Path, item: EvidenceItem, bundle: ProofBundle) -> None:
    folder = root / "custody" / str(item.id)
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
    _write_json(folder / "item.json", describe(item))


def _checkpoint_files(root: Path, checkpoint: Checkpoint, keys: list[str], tsa: list[Path]) -> None:
    folder = root / "custody"
    (folder / "checkpoint.txt").write_text(checkpoint.note, encoding="utf-8")
    (folder / "log-keys.txt").write_text("".join(f"{key}\n" for key in keys), encoding="utf-8")
    if checkpoint.timestamp_token:
        (folder / "checkpoint.tsr").write_bytes(bytes(checkpoint.timestamp_token))
        (folder / "tsa-roots.pem").write_bytes(b"".join(path.read_bytes() for path in tsa))


@dataclass(frozen=True)
class CustodyWritten:
    checkpoint: Checkpoint
    bundles: dict[str, ProofBundle]  # by item id
    verifier_keys: list[str]

    @property
    def key_ids(self) -> list[str]:
        return [key.split("+")[1] for key in self.verifier_keys]


def write_custody(
    session: Session,
    *,
    root: Path,
    auth: Authorized,
    files: list[PackageFile],
    facts: ExportFacts,
    tsa_roots: list[Path],
) -> CustodyWritten:
    """Write data/custody/ for every exported item against the latest checkpoint."""
    checkpoint = latest_checkpoint(session)
    if checkpoint is None:
        raise ExportAborted("no checkpoint could be signed: run `evault checkpoint` and retry")
    keys: list[str] = []
    bundles = {}
    for item in auth.items:
        bundle = item_bundle(session, item.id, checkpoint)
        _item_files(root, item, bundle)
        bundles[str(item.id)], keys = bundle, bundle.verifier_keys
    _checkpoint_files(root, checkpoint, keys, tsa_roots)
    _write_json(
        root / "custody" / "export.json",
        {
            "export": facts.number,
            "made_at": facts.made_at.isoformat(),
            "organisation": facts.organisation,
            "request": auth.request.number,
            "purpose": auth.request.purpose.value,
            "recipient": auth.recipient,
            "exported_by": facts.actor,
            "reason": facts.reason,
            "checkpoint_tree_size": checkpoint.tree_size,
            "items": [str(item.id) for item in auth.items],
            "files": [
                {
                    "path": f"data/{f.path}",
                    "item": str(f.item_id),
                    "role": f.role,
                    "sha256": f.digest,
                    "size": f.size,
                }
                for f in files
            ],
        },
    )
    return CustodyWritten(checkpoint, bundles, keys)

"""data/custody/export.json, the export's manifest: every file of the package that is not a
proof of itself (path, role, size, SHA-256), the items, the request, the recipient, the
bag-info labels, the log key, whether the package's checkpoint carries a time stamp, the
checkpoint the report states and verify.py's digest.

Its SHA-256, with the report's and verify.py's, goes into an ``export_packaged`` entry on
every item's chain (with the chain before it), and the package's checkpoint is signed after
those entries: the signature that proves the custody entries proves the whole package. The
files left out prove themselves: the entries (chain and inclusion proofs), the checkpoint (its
signature), its time stamp (the TSA's signature), the keys (used only to check signatures).
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from custody.log.append import append_event
from custody.log.kinds import EventKind
from custody.log.proof_models import Checkpoint
from export.evidence import ExportFacts
from export.payload import PackageFile
from export.spec import Authorized

FORMAT = "evidence-vault/export-manifest/v1"
MANIFEST = "custody/export.json"  # under data/


@dataclass(frozen=True)
class Statement:
    """What the export_packaged entries record, and the report states."""

    manifest_sha256: str
    verify_sha256: str
    checkpoint_before: Checkpoint  # the one the report states; the package's extends it
    log_key: str  # the full verifier key that signed it


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def write_manifest(
    root: Path,
    *,
    auth: Authorized,
    files: list[PackageFile],
    facts: ExportFacts,
    bag_info: dict[str, str],
    time_stamped: bool,
    before: Checkpoint,
    log_key: str,
) -> Statement:
    """Write export.json under ``root`` (the bag's data/) and return its statement."""
    verify_sha256 = sha256_file(root / "verify.py")
    document: dict[str, Any] = {
        "format": FORMAT,
        "export": facts.number,
        "made_at": facts.made_at.isoformat(),
        "organisation": facts.organisation,
        "request": auth.request.number,
        "purpose": auth.request.purpose.value,
        "recipient": auth.recipient,
        "exported_by": facts.actor,
        "reason": facts.reason,
        "items": [str(item.id) for item in auth.items],
        "bag_info": bag_info,
        "log_key": log_key,
        "checkpoint_time_stamped": time_stamped,
        "checkpoint_before": {
            "tree_size": before.tree_size,
            "root": base64.b64encode(bytes(before.root_hash)).decode(),
        },
        "verify_py_sha256": verify_sha256,
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
    }
    path = root / MANIFEST
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return Statement(sha256_file(path), verify_sha256, before, log_key)


def record_packaged(
    session: Session,
    *,
    items: list[uuid.UUID],
    statement: Statement,
    report_sha256: str,
    number: str,
    actor: str,
    reason: str,
) -> None:
    """One export_packaged entry per item, each committing to the chain before it."""
    for item_id in items:
        append_event(
            session, item_id=item_id, kind=EventKind.EXPORT_PACKAGED, actor=actor,
            reason=reason, commit_chain=True,
            data={
                "export": number,
                "manifest_sha256": statement.manifest_sha256,
                "report_sha256": report_sha256,
                "verify_sha256": statement.verify_sha256,
            },
        )  # fmt: skip

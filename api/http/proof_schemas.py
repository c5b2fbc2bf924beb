"""What the auditors' routes return: checkpoints, keys, proofs, per-item proof bundles.

Hashes and proofs are RFC 4648 base64, as in the checkpoint note and C2SP tlog-proof."""

from __future__ import annotations

import base64
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from api.http.schemas import EventOut


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


NOTE_EXAMPLE = (
    "evidence-vault/6359593d9fc3\n18\nJMRMfSmmNTF48ie/A2IqmAu0XrdsFPtUpuKXS/42Mr8=\n"
    "time 2026-11-24T11:52:08Z\n\n— evidence-vault/6359593d9fc3 Q1NYGdfQ…\n"
)


class CheckpointOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "tree_size": 18,
                    "root_hash": "JMRMfSmmNTF48ie/A2IqmAu0XrdsFPtUpuKXS/42Mr8=",
                    "created_at": "2026-11-24T11:52:08Z",
                    "key_id": "43535819",
                    "note": NOTE_EXAMPLE,
                    "timestamped": False,
                    "renews": None,
                }
            ]
        }
    )

    id: int
    tree_size: int
    root_hash: str
    created_at: datetime
    key_id: str
    note: str = Field(description="the C2SP signed note (tlog-checkpoint body, Ed25519)")
    timestamped: bool = Field(description="an RFC 3161 token over the note is stored")
    renews: int | None = Field(description="the checkpoint this one re-signs, if a renewal")


class KeyOut(BaseModel):
    key_id: str
    name: str
    created_at: datetime
    retired_at: datetime | None
    verifier_key: str = Field(
        description="note verifier key: name+hex key ID+base64(0x01 || Ed25519 public key)",
        examples=["evidence-vault/6359593d9fc3+43535819+AaB76+NVikPGdu1YYzzT0aq7kbrUhvkQ+1Z+o="],
    )


class InclusionProofOut(BaseModel):
    seq: int
    leaf_index: int = Field(description="seq - 1")
    tree_size: int
    proof: list[str] = Field(description="RFC 9162 PATH, leaf side first")


class ConsistencyProofOut(BaseModel):
    old_size: int
    new_size: int
    proof: list[str] = Field(description="RFC 9162 PROOF(old_size, D[new_size])")


class EntryProofOut(BaseModel):
    event: EventOut
    canonical: str = Field(description="the entry's exact RFC 8785 bytes (UTF-8 JSON text)")
    leaf_hash: str = Field(description="SHA-256(0x00 || canonical)")
    proof: list[str] | None = Field(description="inclusion proof; null if after the checkpoint")


class ProofBundleOut(BaseModel):
    """Everything an outsider needs to check an item's custody without the vault."""

    checkpoint: CheckpointOut
    verifier_keys: list[str]
    entries: list[EntryProofOut]


class QuarantinedOut(BaseModel):
    item_id: str
    stored_copy: str = Field(examples=["access"], description="sealed, access or rendition")
    status: str = Field(examples=["failed"])
    quarantined_at: datetime | None


class FixityOut(BaseModel):
    """Where the fixity schedule stands: copies per status, and what needs a person."""

    by_status: dict[str, int] = Field(examples=[{"ok": 1520, "unchecked": 40, "repaired": 1}])
    oldest_check: datetime | None = Field(description="the least recently checked copy's check")
    quarantined: list[QuarantinedOut]
    alerts: list[str]

"""Recompute per-item chains from raw rows and say precisely what does not hold. Pure."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from custody.canonical import GENESIS_HASH, canonical_bytes, chain_hash, event_document
from custody.merkle import leaf_hash


@dataclass(frozen=True)
class EntryRow:
    seq: int
    item_id: uuid.UUID
    kind: str
    actor: str
    at: datetime
    reason: str | None
    data: dict[str, Any]
    prev_hash: bytes
    entry_hash: bytes


@dataclass(frozen=True)
class HeadRow:
    item_id: uuid.UUID
    length: int
    last_seq: int
    head_hash: bytes


@dataclass(frozen=True)
class Finding:
    """One verification failure. ``item_id`` is None only for log-wide findings."""

    item_id: uuid.UUID | None
    seq: int | None
    message: str


def _short(value: bytes) -> str:
    return value.hex()[:16]


def check_entry_hashes(
    entries: Iterable[EntryRow], leaves: dict[int, bytes] | None = None
) -> list[Finding]:
    """Recompute each entry_hash; ``leaves`` (when given) collects each entry's Merkle leaf
    hash by seq, from the same canonical bytes, so the tree costs no second canonicalisation."""
    findings = []
    for row in entries:
        try:
            document = event_document(
                seq=row.seq,
                item=row.item_id,
                kind=row.kind,
                actor=row.actor,
                at=row.at,
                reason=row.reason,
                data=row.data,
            )
            canonical = canonical_bytes(document)
            recomputed = chain_hash(prev_hash=row.prev_hash, canonical=canonical)
        except (ValueError, TypeError) as exc:
            findings.append(Finding(row.item_id, row.seq, f"entry cannot be canonicalised: {exc}"))
            continue
        if leaves is not None:
            leaves[row.seq] = leaf_hash(canonical)
        if recomputed != row.entry_hash:
            findings.append(
                Finding(
                    row.item_id,
                    row.seq,
                    f"entry seq {row.seq} ({row.kind}) was altered: its content hashes to"
                    f" {_short(recomputed)}…, the row records {_short(row.entry_hash)}…",
                )
            )
    return findings


def check_links(entries: Sequence[EntryRow], heads: Mapping[uuid.UUID, HeadRow]) -> list[Finding]:
    """Each entry must point at the one before it in its item's chain, in seq order."""
    findings = []
    by_item: dict[uuid.UUID, list[EntryRow]] = defaultdict(list)
    for row in sorted(entries, key=lambda r: r.seq):
        by_item[row.item_id].append(row)
    for item_id, chain in by_item.items():
        expected = GENESIS_HASH
        previous_seq: int | None = None
        for row in chain:
            if row.prev_hash != expected:
                where = f"entry seq {previous_seq}" if previous_seq else "the chain's start"
                findings.append(
                    Finding(
                        item_id,
                        row.seq,
                        f"chain broken at entry seq {row.seq} ({row.kind}): it links to"
                        f" {_short(row.prev_hash)}… but {where} hashes to {_short(expected)}…"
                        " (an entry was deleted, inserted or reordered)",
                    )
                )
            expected = row.entry_hash
            previous_seq = row.seq
        if chain[0].kind != "ingested":
            findings.append(
                Finding(
                    item_id,
                    chain[0].seq,
                    f"chain starts with {chain[0].kind!r} at seq {chain[0].seq}, not 'ingested'"
                    " (its first entries were removed)",
                )
            )
        findings.extend(_check_head(item_id, chain, heads.get(item_id)))
    for item_id in heads.keys() - by_item.keys():
        findings.append(Finding(item_id, None, "every custody entry of this item is missing"))
    return findings


def _check_head(item_id: uuid.UUID, chain: list[EntryRow], head: HeadRow | None) -> list[Finding]:
    if head is None:
        return [Finding(item_id, None, "item has custody entries but no recorded chain head")]
    last = chain[-1]
    if head.length != len(chain) or head.head_hash != last.entry_hash:
        return [
            Finding(
                item_id,
                last.seq,
                f"chain holds {len(chain)} entries ending at seq {last.seq}, but the recorded head"
                f" says {head.length} entries ending at seq {head.last_seq}"
                f" ({_short(head.head_hash)}…): entries were removed or added",
            )
        ]
    return []


def check_sequence(
    entries: Sequence[EntryRow],
    *,
    log_last_seq: int,
    log_last_hash: bytes,
) -> list[Finding]:
    """The global seq is gapless from 1 and ends where the log head says."""
    findings = []
    seqs = sorted(r.seq for r in entries)
    owner = {r.seq: r.item_id for r in entries}
    expected = 1
    for seq in seqs:
        if seq != expected:
            findings.append(
                Finding(
                    owner[seq],
                    seq,
                    f"custody entries seq {expected}..{seq - 1} are missing before seq {seq}",
                )
            )
        expected = seq + 1
    last_seq = seqs[-1] if seqs else 0
    if last_seq != log_last_seq:
        findings.append(
            Finding(
                owner.get(last_seq),
                last_seq or None,
                f"log head says the log ends at seq {log_last_seq}, the rows end at seq {last_seq}"
                " (the log was truncated or extended outside the vault)",
            )
        )
    elif seqs:
        last = max(entries, key=lambda r: r.seq)
        if last.entry_hash != log_last_hash:
            findings.append(
                Finding(last.item_id, last.seq, "log head hash does not match the last entry")
            )
    return findings


def check_log(
    entries: Sequence[EntryRow],
    heads: Mapping[uuid.UUID, HeadRow],
    *,
    log_last_seq: int,
    log_last_hash: bytes,
    leaves: dict[int, bytes] | None = None,
) -> list[Finding]:
    return [
        *check_entry_hashes(entries, leaves),
        *check_links(entries, heads),
        *check_sequence(entries, log_last_seq=log_last_seq, log_last_hash=log_last_hash),
    ]

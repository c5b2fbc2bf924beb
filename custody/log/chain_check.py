"""Recompute per-item chains from raw rows and say precisely what does not hold. Pure.

One pass over the log in seq order (``LogChecker.feed``), keeping O(items) state, so a log of
millions of entries is checked without holding it in memory.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from custody.log.canonical import GENESIS_HASH, canonical_bytes, chain_hash, event_document
from custody.log.merkle import leaf_hash


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
    canonical: bytes | None = None  # the bytes stored when it was appended


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


@dataclass
class Chain:
    """Where one item's chain stands so far in the pass."""

    first_kind: str
    first_seq: int
    length: int = 0
    last_seq: int = 0
    last_hash: bytes = GENESIS_HASH


LeafSink = Callable[[int, bytes], None]


@dataclass
class LogChecker:
    """Feed entries in seq order; ``finish`` adds what only the end can tell.

    ``on_leaf`` receives each entry's Merkle leaf hash, from the same canonical bytes as its
    chain hash, so the tree costs no second canonicalisation.
    """

    on_leaf: LeafSink | None = None
    findings: list[Finding] = field(default_factory=list)
    entries: int = 0
    _chains: dict[uuid.UUID, Chain] = field(default_factory=dict)
    _expected_seq: int = 1
    _last: EntryRow | None = None

    def feed(self, row: EntryRow) -> None:
        self.entries += 1
        self._check_hash(row)
        self._check_seq(row)
        self._check_link(row)
        self._last = row

    def _check_hash(self, row: EntryRow) -> None:
        findings, leaf = check_entry_hash(row)
        self.findings.extend(findings)
        if leaf is not None and self.on_leaf is not None:
            self.on_leaf(row.seq, leaf)

    def _check_seq(self, row: EntryRow) -> None:
        """The global seq is gapless from 1."""
        if row.seq != self._expected_seq:
            self.findings.append(missing_before(row.item_id, self._expected_seq, row.seq))
        self._expected_seq = row.seq + 1

    def _check_link(self, row: EntryRow) -> None:
        """Each entry must point at the one before it in its item's chain."""
        chain = self._chains.get(row.item_id)
        if chain is None:
            chain = self._chains[row.item_id] = Chain(row.kind, row.seq)
            if row.kind != "ingested":
                self.findings.append(headless(row.item_id, row.seq, row.kind))
        if row.prev_hash != chain.last_hash:
            self.findings.append(
                broken_link(row.item_id, row.seq, row.kind, row.prev_hash,
                            chain.last_seq if chain.length else None, chain.last_hash)
            )  # fmt: skip
        chain.length += 1
        chain.last_seq = row.seq
        chain.last_hash = row.entry_hash

    def finish(
        self, heads: Mapping[uuid.UUID, HeadRow], *, log_last_seq: int, log_last_hash: bytes
    ) -> list[Finding]:
        last = self._last
        ending = (last.seq, last.item_id, last.entry_hash) if last else None
        self.findings.extend(
            end_findings(self._chains, heads, ending, log_last_seq=log_last_seq,
                         log_last_hash=log_last_hash)
        )  # fmt: skip
        return self.findings


def check_entry_hash(row: EntryRow) -> tuple[list[Finding], bytes | None]:
    """The reference check of one entry: re-canonicalised from its columns, it must hash to
    entry_hash and equal the bytes stored for it. Returns the findings and its Merkle leaf
    (None when it cannot be canonicalised: the tree cannot go past it)."""
    try:
        document = event_document(
            seq=row.seq, item=row.item_id, kind=row.kind, actor=row.actor, at=row.at,
            reason=row.reason, data=row.data,
        )  # fmt: skip
        canonical = canonical_bytes(document)
        recomputed = chain_hash(prev_hash=row.prev_hash, canonical=canonical)
    except (ValueError, TypeError) as exc:
        return [Finding(row.item_id, row.seq, f"entry cannot be canonicalised: {exc}")], None
    findings = []
    if recomputed != row.entry_hash:
        findings.append(
            Finding(
                row.item_id,
                row.seq,
                f"entry seq {row.seq} ({row.kind}) was altered: its content hashes to"
                f" {_short(recomputed)}…, the row records {_short(row.entry_hash)}…",
            )
        )
    elif row.canonical is not None and row.canonical != canonical:
        findings.append(
            Finding(
                row.item_id,
                row.seq,
                f"entry seq {row.seq} ({row.kind}) was altered: the bytes stored for it are"
                " not the canonical form of its columns, which hash to the recorded entry_hash",
            )
        )
    return findings, leaf_hash(canonical)


def missing_before(item_id: uuid.UUID, expected: int, seq: int) -> Finding:
    """A gap in the global seq, found at the entry after it."""
    return Finding(
        item_id, seq, f"custody entries seq {expected}..{seq - 1} are missing before seq {seq}"
    )


def headless(item_id: uuid.UUID, seq: int, kind: str) -> Finding:
    """A chain whose first entry is not its ingestion."""
    return Finding(
        item_id,
        seq,
        f"chain starts with {kind!r} at seq {seq}, not 'ingested' (its first entries were removed)",
    )


def broken_link(  # noqa: PLR0917 - the two sides of the link, named as in the message
    item_id: uuid.UUID, seq: int, kind: str, prev_hash: bytes, last_seq: int | None,
    last_hash: bytes,
) -> Finding:  # fmt: skip
    """An entry that does not point at the one before it in its item's chain."""
    where = f"entry seq {last_seq}" if last_seq is not None else "the chain's start"
    return Finding(
        item_id,
        seq,
        f"chain broken at entry seq {seq} ({kind}): it links to {_short(prev_hash)}… but"
        f" {where} hashes to {_short(last_hash)}… (an entry was deleted, inserted or reordered)",
    )


def end_findings(
    chains: Mapping[uuid.UUID, Chain],
    heads: Mapping[uuid.UUID, HeadRow],
    last: tuple[int, uuid.UUID, bytes] | None,
    *,
    log_last_seq: int,
    log_last_hash: bytes,
) -> list[Finding]:
    """What only the end of the pass can tell: each chain against its recorded head, and
    the last entry against the log head. ``last`` is the last row's (seq, item, entry_hash)."""
    findings = []
    for item_id, chain in chains.items():
        findings.extend(_check_head(item_id, chain, heads.get(item_id)))
    for item_id in heads.keys() - chains.keys():
        findings.append(Finding(item_id, None, "every custody entry of this item is missing"))
    last_seq = last[0] if last else 0
    if last_seq != log_last_seq:
        findings.append(
            Finding(
                last[1] if last else None,
                last_seq or None,
                f"log head says the log ends at seq {log_last_seq}, the rows end at seq"
                f" {last_seq} (the log was truncated or extended outside the vault)",
            )
        )
    elif last is not None and last[2] != log_last_hash:
        findings.append(Finding(last[1], last[0], "log head hash does not match the last entry"))
    return findings


def _check_head(item_id: uuid.UUID, chain: Chain, head: HeadRow | None) -> list[Finding]:
    if head is None:
        return [Finding(item_id, None, "item has custody entries but no recorded chain head")]
    if head.length != chain.length or head.head_hash != chain.last_hash:
        return [
            Finding(
                item_id,
                chain.last_seq,
                f"chain holds {chain.length} entries ending at seq {chain.last_seq}, but the"
                f" recorded head says {head.length} entries ending at seq {head.last_seq}"
                f" ({_short(head.head_hash)}…): entries were removed or added",
            )
        ]
    return []


def check_log(
    entries: Iterable[EntryRow],
    heads: Mapping[uuid.UUID, HeadRow],
    *,
    log_last_seq: int,
    log_last_hash: bytes,
    on_leaf: LeafSink | None = None,
) -> list[Finding]:
    """Every check over entries given in any order (they are taken in seq order)."""
    checker = LogChecker(on_leaf=on_leaf)
    for row in sorted(entries, key=lambda r: r.seq):
        checker.feed(row)
    return checker.finish(heads, log_last_seq=log_last_seq, log_last_hash=log_last_hash)

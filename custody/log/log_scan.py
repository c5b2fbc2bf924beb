"""The whole custody log checked from its stored bytes, over the machine's cores.

The log is cut into contiguous seq ranges aligned to a power of two (so every Merkle node
inside a range belongs to that range alone); each range is scanned by custody.log.range_scan
in its own process with its own database connection, and the results are joined here by the
structure of the log: seq continuity and chain links across the cuts, chain and log heads at
the end, the tree's upper levels from the ranges' top nodes. A small log is scanned in the
caller's process and transaction: starting processes would cost more than they save.
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from multiprocessing import get_context

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from custody.log.chain_check import (
    Chain,
    EntryRow,
    Finding,
    HeadRow,
    broken_link,
    end_findings,
    headless,
    missing_before,
)
from custody.log.merkle import EMPTY_ROOT, needed_nodes, tree_root
from custody.log.models import CustodyEvent
from custody.log.proof_models import MerkleNode
from custody.log.range_nodes import NodeCheck
from custody.log.range_scan import RangeResult, ScanRange, build_levels, scan_range
from custody.log.tree_audit import RecomputedTree
from vault.db import READ_ONLY, make_engine

# Ranges are multiples of this many entries (2**17): a node of a level up to 17 lies in one.
RANGE_ALIGN = 1 << 17
# Below this many entries per process, one process in the caller's transaction is faster.
MIN_ENTRIES_PER_PROCESS = 200_000
# How many entries, spread over the log, are re-serialised to prove the stored form is RFC
# 8785 canonical; a tampered entry is caught by its hash, this catches a non-canonical writer.
CANONICAL_SAMPLE = 2_000


@dataclass(frozen=True)
class LogScan:
    entries: int
    findings: list[Finding]
    tree: RecomputedTree
    notable: list[EntryRow]  # in seq order
    items: set[uuid.UUID]  # every item some entry names


class StartedScan:
    """A scan whose workers are already reading their ranges: the caller reads what it needs
    meanwhile (the chain heads, the items), in the snapshot it took before the start, and
    then joins. A small log is scanned at the join, in the caller's own transaction."""

    def __init__(
        self,
        session: Session,
        *,
        log_last_seq: int,
        sizes: set[int],
        notable_kinds: frozenset[str],
        processes: int | None = None,
        canonical_sample: int = CANONICAL_SAMPLE,
    ) -> None:
        self.session, self.sizes, self.notable_kinds = session, sizes, notable_kinds
        seqs = select(func.min(CustodyEvent.seq), func.max(CustodyEvent.seq))
        low, high = session.execute(seqs).one()
        # The log's size as this snapshot says: stored nodes past it belong to entries
        # appended while the audit runs (workers read in snapshots of their own, taken later,
        # and no further than this snapshot's last seq).
        self.leaves = max(high or 0, log_last_seq, 0)
        self.ranges = _plan(low, high, canonical_sample, sizes, self.leaves)
        self.pool: ProcessPoolExecutor | None = None
        self.futures: list[Future[RangeResult]] = []
        workers = _workers(session, self.ranges, processes)
        if workers > 1:
            url = session.connection().engine.url.render_as_string(hide_password=False)
            context = get_context("spawn")  # never fork a process that may hold threads, locks
            self.pool = ProcessPoolExecutor(workers, mp_context=context)
            self.futures = [
                self.pool.submit(_scan_in_worker, url, scan, notable_kinds) for scan in self.ranges
            ]

    def join(
        self, heads: Mapping[uuid.UUID, HeadRow], *, log_last_seq: int, log_last_hash: bytes
    ) -> LogScan:
        """Every entry's hash, fields and link, the seq order, the heads, and the tree's roots
        at the sizes asked for."""
        if self.pool is not None:
            results = [future.result() for future in self.futures]
        else:
            connection = self.session.connection()
            results = [scan_range(connection, scan, self.notable_kinds) for scan in self.ranges]
        scan = _join(results, heads, log_last_seq, log_last_hash)
        scan.tree.node_findings = _node_findings(self.session, results, scan.tree, self.leaves)
        _roots(scan.tree, results, self.sizes)
        return scan

    def close(self) -> None:
        """Stops the workers (those still reading, if the caller gave up)."""
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
            self.pool = None

    def __enter__(self) -> StartedScan:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _plan(
    low: int | None, high: int | None, canonical_sample: int, sizes: set[int], leaves: int
) -> list[ScanRange]:
    if low is None or high is None:
        return []
    align = RANGE_ALIGN
    every = max(1, (high - min(low, 1) + 1) // max(1, canonical_sample))
    offset = secrets.randbelow(every)  # not predictable by whoever wrote the rows
    top = align.bit_length() - 1
    wanted: set[tuple[int, int]] = set()
    for size in sizes:
        if 0 < size <= high:
            wanted |= needed_nodes(partial(tree_root, size))
    starts = range(align + 1, high + 1, align)
    lows = [min(low, 1), *starts]
    highs = [s - 1 for s in starts] + [high]
    return [
        ScanRange(lo, hi, every, offset, align, hi == high, leaves, frozenset(
            (level, index) for level, index in wanted
            if level <= top and max(lo, 1) - 1 <= index << level < hi
        ))
        for lo, hi in zip(lows, highs, strict=True)
    ]  # fmt: skip


def _workers(session: Session, ranges: Sequence[ScanRange], processes: int | None) -> int:
    url = session.connection().engine.url
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        return 1  # an in-memory database exists in this process only
    entries = ranges[-1].high - ranges[0].low + 1 if ranges else 0
    if processes is None:
        processes = min(os.cpu_count() or 1, entries // MIN_ENTRIES_PER_PROCESS)
    return max(1, min(processes, len(ranges)))


def _scan_in_worker(url: str, scan: ScanRange, notable_kinds: frozenset[str]) -> RangeResult:
    engine = make_engine(url, pool_size=1)
    try:
        options: dict[str, object] = {READ_ONLY: True}
        if engine.dialect.name == "postgresql":
            options["postgresql_readonly"] = True
        with engine.connect().execution_options(**options) as connection:
            return _scan(connection, scan, notable_kinds)
    finally:
        engine.dispose()


def _scan(connection: Connection, scan: ScanRange, notable_kinds: frozenset[str]) -> RangeResult:
    with connection.begin():
        return scan_range(connection, scan, notable_kinds)


def _join(
    results: Sequence[RangeResult],
    heads: Mapping[uuid.UUID, HeadRow],
    log_last_seq: int,
    log_last_hash: bytes,
) -> LogScan:
    findings: list[Finding] = []
    chains: dict[uuid.UUID, Chain] = {}
    notable: list[EntryRow] = []
    expected, last = 1, None
    for result in results:
        if result.first is not None:
            seq, item = result.first
            if seq != expected:
                findings.append(missing_before(uuid.UUID(item), expected, seq))
        if result.last is not None:
            expected, last = result.last[0] + 1, result.last
        findings.extend(result.findings)
        for item, span in result.spans.items():
            item_id = uuid.UUID(item)
            chain = chains.get(item_id)
            if chain is None:
                chain = chains[item_id] = Chain(span.first_kind, span.first_seq)
                if span.first_kind != "ingested":
                    findings.append(headless(item_id, span.first_seq, span.first_kind))
            if span.first_prev != chain.last_hash:
                findings.append(broken_link(item_id, span.first_seq, span.first_kind,
                                            span.first_prev,
                                            chain.last_seq if chain.length else None,
                                            chain.last_hash))  # fmt: skip
            chain.length += span.length
            chain.last_seq, chain.last_hash = span.last_seq, span.last_hash
        notable.extend(result.notable)
    ending = (last[0], uuid.UUID(last[1]), last[2]) if last else None
    findings.extend(end_findings(chains, heads, ending, log_last_seq=log_last_seq,
                                 log_last_hash=log_last_hash))  # fmt: skip
    findings.sort(key=lambda f: (f.seq is None, f.seq or 0))
    return LogScan(sum(r.entries for r in results), findings, _reach(results), notable, set(chains))


def _in_tree(results: Sequence[RangeResult]) -> int:
    """How many ranges, from the first, the tree's gapless run of leaves reaches into."""
    reached = 0
    for count, result in enumerate(results, start=1):
        if result.leaves_to <= reached or max(result.low, 1) != reached + 1:
            return count - 1
        reached = result.leaves_to
        if reached != result.high:
            return count  # a gap inside this range: nothing after it is a leaf of the tree
    return len(results)


def _reach(results: Sequence[RangeResult]) -> RecomputedTree:
    """The tree as far as its leaves run on without a gap, with the levels above one range
    (level ``top`` first) built from the top nodes of the ranges it fills; each range's own
    nodes stayed with its worker."""
    joined = results[: _in_tree(results)]
    reached = joined[-1].leaves_to if joined else 0
    whole = b"".join(r.top_nodes for r in joined if r.leaves_to == r.high)
    return RecomputedTree(reached=reached, levels=[bytearray(lv) for lv in build_levels(whole)])


def _roots(tree: RecomputedTree, results: Sequence[RangeResult], sizes: set[int]) -> None:
    """The roots at ``sizes`` within reach, from the ranges' wanted nodes and the levels
    above one range."""
    top = RANGE_ALIGN.bit_length() - 1
    nodes: dict[tuple[int, int], bytes] = {}
    for result in results[: _in_tree(results)]:
        nodes.update(result.nodes)

    def lookup(level: int, index: int) -> bytes:
        if level < top:
            return nodes[(level, index)]
        return bytes(tree.levels[level - top][index * 32 : index * 32 + 32])

    for size in sizes:
        if size == 0:
            tree.roots[0] = EMPTY_ROOT
        elif size <= tree.reached:
            tree.roots[size] = tree_root(size, lookup)


def _node_findings(
    session: Session, results: Sequence[RangeResult], tree: RecomputedTree, leaves: int
) -> list[Finding]:
    """Every stored node against the rebuilt tree: each range compared its own (those of a
    range beyond a gap are all stale); the levels above one range are compared here."""
    joined = _in_tree(results)
    check = NodeCheck()
    for count, result in enumerate(results):
        check.merge(result.node_check, stale=count >= joined)
    top = RANGE_ALIGN.bit_length() - 1
    check.expected += sum(len(level) // 32 for level in tree.levels[1:])
    m = MerkleNode
    above = select(m.level, m.position, m.hash).where(m.level > top).order_by(m.level, m.position)
    for level, position, digest in session.execute(above):
        if (position + 1) << level > leaves:
            continue  # over entries appended since this snapshot
        upper = tree.levels[level - top] if level - top < len(tree.levels) else b""
        rebuilt = upper[position * 32 : position * 32 + 32]
        if len(rebuilt) == 32 and bytes(digest) == rebuilt:
            check.matched += 1
        else:
            check.add_wrong(level, position)
    return check.findings()

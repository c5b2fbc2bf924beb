"""One contiguous range of the custody log, checked from each entry's stored canonical bytes.

Per entry: the stored bytes must hash (with prev_hash) to entry_hash, and parse (orjson, in
C) to exactly the entry's columns; they are the Merkle leaf. Rows come in large batches from
the driver's own cursor (PostgreSQL's columns shaped in SQL as SQLite stores them), and a
batch in which everything holds is checked with the iteration in C (map over the batch's
columns); one in which something does not is walked entry by entry to say what. An entry
that fails any of this, or has no stored bytes, is checked again exactly as the reference
audit checks it (re-canonicalised from its columns by custody.log.chain_check), so this path
never passes what the reference would refuse. Runs in a worker process, one range each, or
in the caller's process; custody.log.log_scan joins the ranges."""

from __future__ import annotations

import gc
import hashlib
import uuid
from collections import Counter, deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import compress, repeat
from operator import is_not, itemgetter, lt, methodcaller, not_
from typing import Any, cast

import orjson
import rfc8785
from sqlalchemy import Connection, select

from custody.log.canonical import CHAIN_PREFIX
from custody.log.chain_check import (
    EntryRow,
    Finding,
    broken_link,
    check_entry_hash,
    missing_before,
)
from custody.log.merkle import LEAF_PREFIX, NODE_PREFIX
from custody.log.models import CustodyEvent
from custody.log.range_nodes import NodeCheck, check_nodes

FETCH_ROWS = 20_000
RECHECK_ROWS = 1_000

# The columns as SQLite stores them (item as 32 hex digits, time as "YYYY-MM-DD HH:MM:SS.ffffff"
# in UTC), and PostgreSQL's shaped the same in SQL, so one loop compares both with the parsed
# bytes without a Python conversion per field.
_SQLITE_ROWS = """
SELECT seq, item_id, kind, actor, at, reason, data, prev_hash, entry_hash, canonical
FROM custody_event WHERE seq BETWEEN ? AND ? ORDER BY seq
"""
_POSTGRES_ROWS = """
SELECT seq, replace(item_id::text, '-', ''), kind, actor,
       to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'),
       reason, data::text, prev_hash, entry_hash, canonical
FROM custody_event WHERE seq BETWEEN %s AND %s ORDER BY seq
"""


@dataclass(frozen=True)
class ScanRange:
    """Which seqs to read, and which of them to re-serialise to prove the stored form is
    RFC 8785 canonical (every ``canonical_every``-th, from ``canonical_offset``)."""

    low: int
    high: int
    canonical_every: int = 1
    canonical_offset: int = 0
    align: int = 1 << 17  # ranges start at multiples of this (a power of two) plus one
    last: bool = True  # the last range also checks the stored nodes past its end...
    leaves: int = 0  # ...up to this many leaves (the log's size in the auditor's snapshot)
    wanted: frozenset[tuple[int, int]] = frozenset()  # nodes the join needs for its roots


@dataclass
class ChainSpan:
    """One item's entries within a range: how its chain enters and leaves it."""

    first_seq: int
    first_kind: str
    first_prev: bytes
    last_seq: int
    last_hash: bytes
    length: int = 1


@dataclass
class RangeResult:
    """What a range tells the join. Of the Merkle nodes rebuilt over the range's gapless run
    of leaves from its first seq: the ``wanted`` ones, and the top level's (one node when the
    run fills the range); ``node_check`` compares them all with the stored nodes."""

    low: int
    high: int
    entries: int = 0
    first: tuple[int, str] | None = None  # (seq, item) of the first row
    last: tuple[int, str, bytes] | None = None  # (seq, item, entry_hash) of the last row
    leaves_to: int = 0  # the last seq of the gapless run of leaves from the range's start
    nodes: dict[tuple[int, int], bytes] = field(default_factory=dict)
    top_nodes: bytes = b""
    node_check: NodeCheck = field(default_factory=NodeCheck)
    spans: dict[str, ChainSpan] = field(default_factory=dict)
    notable: list[EntryRow] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def raw_rows(
    dbapi_connection: Any, dialect: str, low: int, high: int
) -> Iterator[Sequence[tuple[Any, ...]]]:
    """The range's rows in batches, from the driver's cursor (server-side on PostgreSQL)."""
    if dialect == "sqlite":
        cursor = dbapi_connection.cursor()
        cursor.execute(_SQLITE_ROWS, (low, high))
    else:
        cursor = dbapi_connection.cursor(name=f"evault_audit_{low}")
        cursor.itersize = FETCH_ROWS
        cursor.execute(_POSTGRES_ROWS, (low, high))
    try:
        while rows := cursor.fetchmany(FETCH_ROWS):
            yield rows
    finally:
        cursor.close()


_FIELD = {key: itemgetter(key) for key in ("seq", "item", "kind", "actor", "at", "reason", "data")}
_HYPHENS = itemgetter(8, 13, 18, 23)
_DIGEST = methodcaller("digest")
_SORTED = orjson.OPT_SORT_KEYS


def _hashes(prefix: bytes, *parts: Sequence[bytes]) -> tuple[bytes, ...]:
    """SHA-256 of prefix || parts... for each row, iterated in C (map), not in bytecode."""
    joined: Iterator[bytes] = repeat(prefix)
    for part in parts:
        joined = map(bytes.__add__, joined, part)
    return tuple(map(_DIGEST, map(hashlib.sha256, joined)))


class _RangeScanner:
    """The state of one range's pass: chains, leaves, entries to re-check."""

    def __init__(self, scan: ScanRange, notable_kinds: frozenset[str]) -> None:
        self.scan = scan
        self.notable_kinds = notable_kinds
        self.result = RangeResult(scan.low, scan.high)
        self.tree_next = max(scan.low, 1)  # the seq whose leaf extends the gapless run
        self.leaves: list[bytes | None] = []
        self.recheck: dict[int, int] = {}  # seq -> index into leaves (None until re-checked)
        self.previous_seq: int | None = None
        self.chains = _Chains()

    def take(self, rows: Sequence[tuple[Any, ...]]) -> None:
        result = self.result
        result.entries += len(rows)
        if result.first is None:
            result.first = (rows[0][0], rows[0][1])
        if not self._whole_batch(rows):
            self._row_by_row(rows)
        last = rows[-1]
        result.last = (last[0], last[1], last[8])

    def _whole_batch(self, rows: Sequence[tuple[Any, ...]]) -> bool:
        """The usual case, a batch in which everything holds, checked with the iteration in
        C. False, with nothing changed, as soon as anything does not hold: the batch then
        goes row by row, which says what and where."""
        n = len(rows)
        columns = tuple(zip(*rows, strict=True))
        seqs, items, kinds, prevs, recs, stored = (columns[i] for i in (0, 1, 2, 7, 8, 9))
        expected = seqs[0] if self.previous_seq is None else self.previous_seq + 1
        if seqs[0] != expected or seqs[-1] - seqs[0] != n - 1 or None in stored:
            return False
        docs = _batch_agrees(columns)
        if docs is None:
            return False
        every = self.scan.canonical_every
        for i in range((self.scan.canonical_offset - seqs[0]) % every, n, every):
            if rfc8785.dumps(docs[i]) != stored[i]:
                return False
        roots = _batch_roots(items, prevs, recs, self.chains.last_hash)
        if roots is None:
            return False
        # Everything holds: record it.
        self.chains.add_batch(roots, seqs=seqs, items=items, kinds=kinds, prevs=prevs, recs=recs)
        if seqs[0] == self.tree_next:
            self.leaves.extend(_hashes(LEAF_PREFIX, stored))
            self.tree_next += n
        for i in compress(range(n), map(self.notable_kinds.__contains__, kinds)):
            self.result.notable.append(_entry_row(docs[i], prevs[i], recs[i]))
        self.previous_seq = seqs[-1]
        return True

    def _row_by_row(self, rows: Sequence[tuple[Any, ...]]) -> None:
        result, findings = self.result, self.result.findings
        every, offset = self.scan.canonical_every, self.scan.canonical_offset
        for row in rows:
            (seq, item, kind), (prev, recorded, stored) = row[:3], row[7:]
            if self.previous_seq is not None and seq != self.previous_seq + 1:
                findings.append(missing_before(uuid.UUID(item), self.previous_seq + 1, seq))
            self.previous_seq = seq
            doc = _same_entry(row)
            if doc is not None and seq % every == offset and rfc8785.dumps(doc) != stored:
                # Checked as the reference checks it, so both name the same leaf.
                findings.append(_not_canonical(item, seq, kind))
                doc = None
            if seq == self.tree_next:
                self.tree_next += 1
                if doc is None:
                    self.recheck[seq] = len(self.leaves)
                    self.leaves.append(None)
                else:
                    self.leaves.append(hashlib.sha256(LEAF_PREFIX + stored).digest())
            elif doc is None:
                self.recheck[seq] = -1  # beyond a gap: no leaf, but the entry is still checked
            if doc is not None and kind in self.notable_kinds:
                result.notable.append(_entry_row(doc, prev, recorded))
            before = self.chains.add(item, seq, kind, prev, recorded)
            if before is not None and prev != before[1]:
                findings.append(broken_link(uuid.UUID(item), seq, kind, prev, *before))


def _batch_agrees(columns: tuple[tuple[Any, ...], ...]) -> list[Any] | None:
    """The batch's stored bytes parsed, if every one hashes to its entry_hash and says
    exactly what its columns say; None otherwise."""
    seqs, items, kinds, actors, ats, reasons, datas, prevs, recs, stored = columns
    try:
        docs = list(map(orjson.loads, stored))
        same = (
            set(map(len, docs)) == {7}
            # seq compared strictly too: 12.0 and true equal 12 and 1 in Python, not here.
            and set(map(type, doc_seqs := tuple(map(_FIELD["seq"], docs)))) == {int}
            and doc_seqs == seqs
            and tuple(map(_FIELD["kind"], docs)) == kinds
            and tuple(map(_FIELD["actor"], docs)) == actors
            and tuple(map(_FIELD["reason"], docs)) == reasons
            # The item's id as the vault writes it, in lower case with its four hyphens in
            # place: the id without hyphens, or in capitals, names the same item but is not
            # the entry that was hashed, and the reference reports it.
            and set(map(len, doc_items := tuple(map(_FIELD["item"], docs)))) == {36}
            and set(map(_HYPHENS, doc_items)) == {("-", "-", "-", "-")}
            and tuple(map(str.replace, doc_items, repeat("-"), repeat(""))) == items
            and tuple(map(str.lower, items)) == items
            and tuple(map(_FIELD["at"], docs))
            == tuple(map(str.__add__, map(str.replace, ats, repeat(" "), repeat("T")),
                         repeat("Z")))
            # The data column compared strictly (1, 1.0 and true are equal in Python, not
            # here), all of the batch in one orjson call each way.
            and orjson.dumps(list(map(_FIELD["data"], docs)), option=_SORTED)
            == orjson.dumps(orjson.loads("[" + ",".join(datas) + "]"), option=_SORTED)
            and _hashes(CHAIN_PREFIX, prevs, stored) == recs
        )  # fmt: skip
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
    return docs if same else None


def _same_entry(row: tuple[Any, ...]) -> Any:
    """The entry's stored bytes parsed, if they hash to its entry_hash and say exactly what
    its columns say; None otherwise (or when it has none)."""
    seq, item, kind, actor, at, reason, data, prev, recorded, stored = row
    if stored is None:
        return None
    try:
        doc = orjson.loads(stored)
        same = (
            len(doc) == 7
            and type(doc["seq"]) is int
            and (doc["seq"], doc["item"], doc["kind"], doc["actor"], doc["at"], doc["reason"])
            == (seq, _written_id(item), kind, actor, at.replace(" ", "T") + "Z", reason)
            and orjson.dumps(doc["data"], option=_SORTED)
            == orjson.dumps(orjson.loads(data), option=_SORTED)
            and hashlib.sha256(CHAIN_PREFIX + prev + stored).digest() == recorded
        )  # fmt: skip
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
        return None
    return doc if same else None


def _written_id(item: str) -> str | None:
    """The id as the vault writes it in an entry (lower case, hyphenated) for the item column
    as the scan reads it (32 hex digits); None for a column in any other form."""
    if len(item) != 32 or item.lower() != item:
        return None
    return f"{item[:8]}-{item[8:12]}-{item[12:16]}-{item[16:20]}-{item[20:]}"


def _batch_roots(
    items: tuple[str, ...],
    prevs: tuple[bytes, ...],
    recs: tuple[bytes, ...],
    last_hash: dict[str, bytes],
) -> list[int] | None:
    """The rows where each item's entries in a batch begin, if every entry links to the one
    before it of the same item (for its first in the batch: ``last_hash``, when the item has
    one); None otherwise. All in C, over the batch's columns.

    An entry names the entry it follows by that entry's hash. Where that is a row of the
    batch, it must be an earlier row of the same item, and no two rows may name the same one;
    the rows that name none (the roots) must be one per item. Each item's rows then form one
    path from its root that only moves forward, so each row names the row just before it."""
    n = len(items)
    position = dict(zip(recs, range(n), strict=True))
    if len(position) != n:
        return None  # two rows with one hash: row by row says where
    parents = list(map(position.get, prevs))
    named = list(map(is_not, parents, repeat(None)))
    children = list(compress(range(n), named))
    followed = cast("list[int]", list(compress(parents, named)))  # the Nones left out
    roots = list(compress(range(n), map(not_, named)))
    if (
        len(roots) != len(set(items))
        or len(set(followed)) != len(followed)
        or not all(map(lt, followed, children))
        or list(map(items.__getitem__, followed)) != list(map(items.__getitem__, children))
    ):
        return None
    root_items = list(map(items.__getitem__, roots))
    root_prevs = list(map(prevs.__getitem__, roots))
    if list(map(last_hash.get, root_items, root_prevs)) != root_prevs:
        return None
    return roots


class _Chains:
    """Each item's chain through the range so far, as dicts that a checked batch updates in
    C: a batch names thousands of items, and a Python loop over them per batch cost a tenth
    of the scan."""

    def __init__(self) -> None:
        self.first: dict[str, tuple[int, str, bytes]] = {}  # item -> (seq, kind, prev_hash)
        self.last_seq: dict[str, int] = {}
        self.last_hash: dict[str, bytes] = {}
        self.length: Counter[str] = Counter()

    def add_batch(
        self,
        roots: list[int],
        *,
        seqs: tuple[int, ...],
        items: tuple[str, ...],
        kinds: tuple[str, ...],
        prevs: tuple[bytes, ...],
        recs: tuple[bytes, ...],
    ) -> None:
        """A batch whose links _batch_roots found whole (later rows overwrite earlier)."""
        firsts = zip(map(seqs.__getitem__, roots), map(kinds.__getitem__, roots),
                     map(prevs.__getitem__, roots), strict=True)  # fmt: skip
        deque(map(self.first.setdefault, map(items.__getitem__, roots), firsts), maxlen=0)
        self.last_seq.update(zip(items, seqs, strict=True))
        self.last_hash.update(zip(items, recs, strict=True))
        self.length.update(items)

    def add(
        self, item: str, seq: int, kind: str, prev: bytes, recorded: bytes
    ) -> tuple[int, bytes] | None:
        """One entry; returns the (seq, hash) its item's chain ended with before it (None:
        the item's first entry in the range), for the caller to check the link."""
        before = None
        if item in self.last_hash:
            before = (self.last_seq[item], self.last_hash[item])
        else:
            self.first[item] = (seq, kind, prev)
        self.last_seq[item], self.last_hash[item] = seq, recorded
        self.length[item] += 1
        return before

    def spans(self) -> dict[str, ChainSpan]:
        return {
            item: ChainSpan(
                seq, kind, prev, self.last_seq[item], self.last_hash[item], self.length[item]
            )
            for item, (seq, kind, prev) in self.first.items()
        }


def scan_range(
    connection: Connection, scan: ScanRange, notable_kinds: frozenset[str]
) -> RangeResult:
    """Check every entry with ``scan.low <= seq <= scan.high``."""
    scanner = _RangeScanner(scan, notable_kinds)
    dbapi = connection.connection.driver_connection
    collecting = gc.isenabled()
    # Each batch makes tens of thousands of small objects that live until the next one; the
    # cycle collector would walk them again and again and find no cycles.
    gc.disable()
    try:
        for rows in raw_rows(dbapi, connection.dialect.name, scan.low, scan.high):
            scanner.take(rows)
    finally:
        if collecting:
            gc.enable()
    result, leaves = scanner.result, scanner.leaves
    result.spans = scanner.chains.spans()
    _recheck(connection, scanner.recheck, leaves, result, notable_kinds)
    first_leaf = max(scan.low, 1) - 1
    result.leaves_to = first_leaf + len(leaves)
    levels = build_levels(b"".join(cast("list[bytes]", leaves)))  # no None: cut
    del leaves[:]
    top = scan.align.bit_length() - 1
    result.top_nodes = levels[top] if len(levels) > top else b""
    for level, index in scan.wanted:
        at = (index - (first_leaf >> level)) * 32
        if level < len(levels) and 0 <= at < len(levels[level]):
            result.nodes[(level, index)] = levels[level][at : at + 32]
    result.node_check = check_nodes(
        connection,
        levels,
        first_leaf,
        top=top,
        span=scan.align,
        last=scan.last,
        leaves=scan.leaves,
    )
    result.notable.sort(key=lambda e: e.seq)
    return result


def _recheck(
    connection: Connection,
    recheck: dict[int, int],
    leaves: list[bytes | None],
    result: RangeResult,
    notable_kinds: frozenset[str],
) -> None:
    """The reference check of every entry the fast comparison did not pass, in seq order; an
    entry that cannot be canonicalised ends the run of leaves, as in the reference audit."""
    e = CustodyEvent
    seqs = sorted(recheck)
    for start in range(0, len(seqs), RECHECK_ROWS):
        chunk = seqs[start : start + RECHECK_ROWS]
        query = (
            select(e.seq, e.item_id, e.kind, e.actor, e.at, e.reason, e.data, e.prev_hash,
                   e.entry_hash, e.canonical)
            .where(e.seq.in_(chunk))
            .order_by(e.seq)
        )  # fmt: skip
        for seq, item, kind, actor, at, reason, data, prev, digest, stored in connection.execute(
            query
        ):
            entry = EntryRow(seq, item, kind, actor, at, reason, dict(data), bytes(prev),
                             bytes(digest), None if stored is None else bytes(stored))  # fmt: skip
            found, leaf = check_entry_hash(entry)
            result.findings.extend(found)
            index = recheck[seq]
            if index >= 0:
                leaves[index] = leaf
            if kind in notable_kinds:
                result.notable.append(entry)
    # The run of leaves ends at the first entry without one (searched in C: a million leaves
    # walked in bytecode cost a visible part of the scan).
    if recheck and None in leaves:
        del leaves[leaves.index(None) :]


def build_levels(leaves: bytes) -> list[bytes]:
    """Every complete node over a run of leaf hashes that starts at an aligned position,
    level by level (RFC 6962 interior nodes)."""
    levels = [leaves]
    while len(levels[-1]) >= 64:
        below = levels[-1]
        pairs = map(below.__getitem__, map(slice, range(0, len(below) - 63, 64),
                                           range(64, len(below) + 1, 64)))  # fmt: skip
        levels.append(b"".join(_hashes(NODE_PREFIX, tuple(pairs))))
    return levels


def _entry_row(doc: dict[str, Any], prev: bytes, recorded: bytes) -> EntryRow:
    return EntryRow(
        doc["seq"], uuid.UUID(doc["item"]), doc["kind"], doc["actor"],
        datetime.fromisoformat(doc["at"]), doc["reason"], doc["data"], prev, recorded,
    )  # fmt: skip


def _not_canonical(item: str, seq: int, kind: str) -> Finding:
    return Finding(
        uuid.UUID(item),
        seq,
        f"entry seq {seq} ({kind}) is stored in a form that is not RFC 8785 canonical: its"
        " bytes were written outside the vault",
    )

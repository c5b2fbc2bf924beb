"""The stored Merkle nodes of one seq range against the nodes rebuilt from its entries.

Ranges are aligned to a power of two, so a stored node of a level up to that power belongs
to exactly one range: the range's worker compares them (the last range also takes every
position past the end); custody.log.log_scan compares the few levels above and joins the
counts. A level stored whole is compared as one byte string; only one that differs is
walked node by node to name the nodes.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

SHOWN = 5  # nodes named in a finding

_SQLITE = {
    "shape": "SELECT count(*), min(position), max(position) FROM merkle_node"
    " WHERE level = ? AND position >= ? AND position < ?",
    "hashes": "SELECT hash FROM merkle_node WHERE level = ? AND position >= ? AND position < ?"
    " ORDER BY position",
    "nodes": "SELECT position, hash FROM merkle_node"
    " WHERE level = ? AND position >= ? AND position < ? ORDER BY position",
}
# By whether the driver is SQLite's: psycopg's parameter marker is %s.
_SQL = {True: _SQLITE, False: {name: sql.replace("?", "%s") for name, sql in _SQLITE.items()}}
UNBOUNDED = 2**62  # past any position


@dataclass
class NodeCheck:
    """What a comparison of stored nodes found: how many matched, which did not (the first
    few, and how many), and how many rebuilt nodes there were to find."""

    matched: int = 0
    wrong: list[tuple[int, int]] = field(default_factory=list)
    wrong_count: int = 0
    expected: int = 0

    def add_wrong(self, level: int, position: int) -> None:
        self.wrong_count += 1
        if len(self.wrong) < SHOWN:
            self.wrong.append((level, position))

    def merge(self, other: NodeCheck, *, stale: bool = False) -> None:
        """Adds another range's counts; ``stale``: that range lies beyond the rebuilt tree,
        so each node stored for it is one the tree does not have."""
        if stale:
            self.wrong_count += other.matched + other.wrong_count
            self.wrong += other.wrong[: SHOWN - len(self.wrong)]
            return
        self.matched += other.matched
        self.wrong_count += other.wrong_count
        self.wrong += other.wrong[: SHOWN - len(self.wrong)]
        self.expected += other.expected


def check_nodes(
    connection: Connection,
    levels: list[bytes],
    first_leaf: int,
    *,
    top: int,
    span: int,
    last: bool,
) -> NodeCheck:
    """Stored nodes of levels 0..``top`` over leaves [first_leaf, first_leaf + span) (for
    the ``last`` range, every position from first_leaf on) against ``levels``."""
    check = NodeCheck()
    dbapi: Any = connection.connection.driver_connection
    sql = _SQL[connection.dialect.name == "sqlite"]
    for level in range(top + 1):
        rebuilt = levels[level] if level < len(levels) else b""
        check.expected += len(rebuilt) // 32
        start = first_leaf >> level
        where = (level, start, UNBOUNDED if last else start + max(1, span >> level))
        count, low, high = _rows(dbapi, sql["shape"], where)[0]
        if count == 0:
            continue
        whole = low == start and high == start + count - 1 and count * 32 <= len(rebuilt)
        if whole:
            stored = b"".join(itertools.chain.from_iterable(_rows(dbapi, sql["hashes"], where)))
            if stored == rebuilt[: len(stored)]:
                check.matched += count
                continue
        for position, digest in _rows(dbapi, sql["nodes"], where):  # name the wrong ones
            offset = (position - start) * 32
            if offset >= 0 and bytes(digest) == rebuilt[offset : offset + 32]:
                check.matched += 1
            else:
                check.add_wrong(level, position)
    return check


def _rows(dbapi: Any, sql: str, parameters: tuple[int, ...]) -> list[tuple[Any, ...]]:
    cursor = dbapi.cursor()
    try:
        cursor.execute(sql, parameters)
        rows: list[tuple[Any, ...]] = cursor.fetchall()
    finally:
        cursor.close()
    return rows

"""The stored Merkle nodes of one seq range against the nodes rebuilt from its entries.

Ranges are aligned to a power of two, so a stored node of a level up to that power belongs
to exactly one range: the range's worker compares them, and the last range also takes the
positions past its end, up to the log's size as the auditor's own snapshot read it (a node
appended while the audit runs is not one it can judge). custody.log.log_scan compares the
few levels above and joins the counts; the reference audit compares the whole tree as one
range. A level stored whole is compared as one byte string; only one that differs is walked
node by node to name the nodes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from custody.log.chain_check import Finding

SHOWN = 5  # nodes named in a finding

# A level's stored nodes in the range, joined into one byte string in the database: one row
# instead of one per node (SQLite's group_concat keeps a blob's bytes as they are; the cast
# hands them back as a blob). The join follows the subquery's order, which SQLite does not
# promise: a join in another order cannot match, and is then walked node by node.
_SQLITE = {
    "level": "SELECT count(*), min(position), max(position), CAST(group_concat(hash, x'') AS BLOB)"
    " FROM (SELECT position, hash FROM merkle_node"
    " WHERE level = ? AND position >= ? AND position < ? ORDER BY position)",
    "nodes": "SELECT position, hash FROM merkle_node"
    " WHERE level = ? AND position >= ? AND position < ? ORDER BY position",
}
_POSTGRES = {
    "level": "SELECT count(*), min(position), max(position),"
    " string_agg(hash, ''::bytea ORDER BY position) FROM merkle_node"
    " WHERE level = %s AND position >= %s AND position < %s",
    "nodes": _SQLITE["nodes"].replace("?", "%s"),
}
# By whether the driver is SQLite's.
_SQL = {True: _SQLITE, False: _POSTGRES}


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

    def findings(self) -> list[Finding]:
        """What an audit reports of the stored nodes: those that differ, those missing."""
        found = []
        if self.wrong_count:
            shown = ", ".join(f"(level {lv}, position {p})" for lv, p in self.wrong)
            found.append(
                Finding(None, None, f"{self.wrong_count} stored Merkle node(s) differ from the"
                        f" tree rebuilt from the entries, first {shown}: the proof cache was"
                        " altered or is stale")
            )  # fmt: skip
        if self.matched < self.expected:
            found.append(
                Finding(None, None, f"{self.expected - self.matched} Merkle node(s) are missing")
            )
        return found

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
    levels: Sequence[bytes | bytearray],
    first_leaf: int,
    *,
    top: int,
    span: int,
    last: bool,
    leaves: int,
) -> NodeCheck:
    """Stored nodes of levels 0..``top`` over leaves [first_leaf, first_leaf + span) (for
    the ``last`` range, every complete node up to ``leaves`` leaves) against ``levels``."""
    check = NodeCheck()
    dbapi: Any = connection.connection.driver_connection
    sql = _SQL[connection.dialect.name == "sqlite"]
    for level in range(top + 1):
        rebuilt = bytes(levels[level]) if level < len(levels) else b""
        check.expected += len(rebuilt) // 32
        start = first_leaf >> level
        end = max(start, leaves >> level) if last else start + max(1, span >> level)
        where = (level, start, end)
        count, low, high, joined = _rows(dbapi, sql["level"], where)[0]
        if count == 0:
            continue
        whole = low == start and high == start + count - 1 and count * 32 <= len(rebuilt)
        if whole and bytes(joined) == rebuilt[: count * 32]:
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

"""Property tests: any change to any entry, any deletion, any reordering is found."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custody.log.canonical import GENESIS_HASH, canonical_bytes, entry_hash, event_document
from custody.log.chain_check import EntryRow, HeadRow, check_log

ITEMS = [uuid.UUID(int=n + 1) for n in range(3)]
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def build_log(owners: list[int]) -> tuple[list[EntryRow], dict[uuid.UUID, HeadRow]]:
    entries: list[EntryRow] = []
    last: dict[uuid.UUID, EntryRow] = {}
    counts: dict[uuid.UUID, int] = {}
    for index, owner in enumerate(owners):
        item = ITEMS[owner]
        kind = "ingested" if item not in last else "viewed"
        prev = last[item].entry_hash if item in last else GENESIS_HASH
        at = T0 + timedelta(seconds=index)
        data = {"n": index, "who": f"officer-{owner}"}
        doc = event_document(
            seq=index + 1, item=item, kind=kind, actor="tester", at=at, reason=None, data=data
        )
        row = EntryRow(
            index + 1,
            item,
            kind,
            "tester",
            at,
            None,
            data,
            prev,
            entry_hash(prev_hash=prev, document=doc),
        )
        entries.append(row)
        last[item] = row
        counts[item] = counts.get(item, 0) + 1
    heads = {i: HeadRow(i, counts[i], r.seq, r.entry_hash) for i, r in last.items()}
    return entries, heads


def verify(entries: list[EntryRow], heads: dict[uuid.UUID, HeadRow], last: EntryRow | None):
    return check_log(
        entries,
        heads,
        log_last_seq=last.seq if last else 0,
        log_last_hash=last.entry_hash if last else b"",
    )


owners_strategy = st.lists(st.integers(0, 2), min_size=2, max_size=25)


@given(owners_strategy)
def test_untouched_log_verifies(owners: list[int]) -> None:
    entries, heads = build_log(owners)
    assert verify(entries, heads, entries[-1]) == []


@given(owners_strategy, st.data())
@settings(max_examples=200)
def test_any_field_edit_is_found_and_names_the_item(owners: list[int], data: st.DataObject) -> None:
    entries, heads = build_log(owners)
    index = data.draw(st.integers(0, len(entries) - 1))
    field = data.draw(st.sampled_from(["kind", "actor", "at", "reason", "data"]))
    row = entries[index]
    edited = {
        "kind": replace(row, kind=row.kind + "x"),
        "actor": replace(row, actor="someone else"),
        "at": replace(row, at=row.at + timedelta(microseconds=1)),
        "reason": replace(row, reason="made up"),
        "data": replace(row, data={**row.data, "n": -1}),
    }[field]
    entries[index] = edited
    findings = verify(entries, heads, entries[-1])
    assert any(f.item_id == row.item_id and f.seq == row.seq for f in findings)


@given(owners_strategy, st.data())
@settings(max_examples=200)
def test_any_deleted_entry_is_found(owners: list[int], data: st.DataObject) -> None:
    entries, heads = build_log(owners)
    index = data.draw(st.integers(0, len(entries) - 1))
    removed = entries.pop(index)
    last = entries[-1] if entries else None
    findings = verify(entries, heads, last)
    assert any(f.item_id == removed.item_id for f in findings)
    # An attacker who also rewrites the item's chain head and the log head is still caught
    # by the gap in the global seq, unless the removed entry was the very last one (that
    # case is what signed checkpoints are for).
    forged_heads = {h.item_id: h for h in heads.values()}
    remaining = [e for e in entries if e.item_id == removed.item_id]
    if remaining:
        forged_heads[removed.item_id] = HeadRow(
            removed.item_id, len(remaining), remaining[-1].seq, remaining[-1].entry_hash
        )
    else:
        del forged_heads[removed.item_id]
    forged = verify(entries, forged_heads, last)
    if index < len(entries):
        assert forged


@given(owners_strategy, st.data())
@settings(max_examples=200)
def test_swapping_two_entries_positions_is_found(owners: list[int], data: st.DataObject) -> None:
    entries, heads = build_log(owners)
    i = data.draw(st.integers(0, len(entries) - 2))
    j = data.draw(st.integers(i + 1, len(entries) - 1))
    a, b = entries[i], entries[j]
    # Reordering = exchanging the seq numbers of two rows, as an UPDATE would.
    entries[i], entries[j] = replace(a, seq=b.seq), replace(b, seq=a.seq)
    findings = verify(entries, heads, max(entries, key=lambda r: r.seq))
    assert {a.item_id, b.item_id} <= {f.item_id for f in findings}


def test_chain_hash_uses_domain_separation_and_jcs() -> None:
    doc = event_document(
        seq=1,
        item=ITEMS[0],
        kind="ingested",
        actor="a",
        at=T0,
        reason=None,
        data={"b": 1, "a": "é"},
    )
    assert canonical_bytes(doc) == (
        b'{"actor":"a","at":"2026-01-01T00:00:00.000000Z","data":{"a":"\xc3\xa9","b":1},'
        b'"item":"00000000-0000-0000-0000-000000000001","kind":"ingested","reason":null,"seq":1}'
    )
    expected = hashlib.sha256(b"\x02" + GENESIS_HASH + canonical_bytes(doc)).digest()
    assert entry_hash(prev_hash=GENESIS_HASH, document=doc) == expected


def test_floats_are_refused_in_custody_data() -> None:
    with pytest.raises(ValueError, match="float"):
        event_document(
            seq=1, item=ITEMS[0], kind="x", actor="a", at=T0, reason=None, data={"latency": 1.5}
        )

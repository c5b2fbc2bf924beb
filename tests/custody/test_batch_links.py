"""The fast scan's link check over a whole batch (custody.log.range_scan._batch_roots): it
passes a batch only when every entry links to the one just before it of the same item, so
that every batch it refuses goes row by row and is reported as the reference audit reports
it. Each refused case here is a log whose every entry hash is valid (a rewrite that
re-hashed), so only the links can tell."""

from __future__ import annotations

import hashlib

from custody.log.range_scan import _batch_roots

Batch = tuple[tuple[str, ...], tuple[bytes, ...], tuple[bytes, ...]]


def _hash(name: str) -> bytes:
    return hashlib.sha256(name.encode()).digest()


def batch(*rows: tuple[str, str, str]) -> Batch:
    """Rows of (item, the entry it follows or "" for none, its own name), in seq order."""
    items = tuple(item for item, _, _ in rows)
    prevs = tuple(_hash(prev) if prev else b"\0" * 32 for _, prev, _ in rows)
    recs = tuple(_hash(name) for _, _, name in rows)
    return items, prevs, recs


def test_interleaved_chains_pass_with_one_root_each() -> None:
    items, prevs, recs = batch(
        ("a", "", "a1"), ("b", "", "b1"), ("a", "a1", "a2"), ("b", "b1", "b2"), ("a", "a2", "a3")
    )
    assert _batch_roots(items, prevs, recs, {}) == [0, 1]


def test_first_entries_must_follow_what_the_range_read_before() -> None:
    items, prevs, recs = batch(("a", "a0", "a1"), ("a", "a1", "a2"))
    assert _batch_roots(items, prevs, recs, {"a": _hash("a0")}) == [0]
    assert _batch_roots(items, prevs, recs, {"a": _hash("other")}) is None


def test_links_in_another_order_than_the_seqs_are_refused() -> None:
    # a3 was hashed first, a2 after it: every hash is valid, but seq 2 does not follow seq 1.
    items, prevs, recs = batch(("a", "", "a1"), ("a", "a3", "a2"), ("a", "a1", "a3"))
    assert _batch_roots(items, prevs, recs, {}) is None


def test_an_entry_that_skips_one_is_refused() -> None:
    items, prevs, recs = batch(("a", "", "a1"), ("a", "a1", "a2"), ("a", "a1", "a3"))
    assert _batch_roots(items, prevs, recs, {}) is None


def test_an_entry_following_another_items_entry_is_refused() -> None:
    items, prevs, recs = batch(("a", "", "a1"), ("b", "", "b1"), ("b", "a1", "b2"))
    assert _batch_roots(items, prevs, recs, {}) is None


def test_an_entry_that_links_nowhere_is_refused() -> None:
    items, prevs, recs = batch(("a", "", "a1"), ("a", "gone", "a2"))
    assert _batch_roots(items, prevs, recs, {}) is None


def test_an_entry_following_itself_or_two_entries_with_one_hash_are_refused() -> None:
    items, prevs, recs = batch(("a", "", "a1"), ("a", "a2", "a2"))
    assert _batch_roots(items, prevs, recs, {}) is None
    items, prevs, recs = batch(("a", "", "a1"), ("a", "a1", "a1"))
    assert _batch_roots(items, prevs, recs, {}) is None

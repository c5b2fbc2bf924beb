"""Attacks on stored evidence and on the custody log, each caught by `evault verify`.

Each test does what an insider with database or disk access would do, then runs the real
CLI in a subprocess and checks it fails, naming the item."""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from custody.log import log_scan
from custody.log.canonical import chain_hash
from custody.log.models import ChainHead, CustodyEvent, LogHead
from ingest.renditions import render_pending
from tests.conftest import Vault, put_clip, run_cli
from tests.custody.verdicts import verdicts_agree
from vault.db import unit_of_work
from vault.models import EvidenceItem, Rendition
from vault.stores.filesystem import FilesystemStore


@pytest.fixture
def ingested(vault: Vault, clip_dir: Path) -> Vault:
    for n in range(3):
        put_clip(clip_dir, n, vault.station_dir / "CAM1" / f"clip{n}.mp4")
    vault.ingest()
    assert len(vault.items()) == 3
    return vault


def item_entries(vault: Vault, item_hex: str) -> list[int]:
    with vault.app.engine.connect() as conn:
        rows = conn.execute(text("SELECT seq, item_id FROM custody_event ORDER BY seq")).all()
    return [seq for seq, item in rows if str(item).replace("-", "") == item_hex]


def sql(vault: Vault, statement: str, **params: object) -> None:
    with vault.app.engine.begin() as conn:
        conn.execute(text(statement), params)


def flip_byte(path: str, offset: int = 1000) -> None:
    os.chmod(path, 0o644)
    with open(path, "r+b") as handle:
        handle.seek(offset)
        byte = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([byte[0] ^ 0x01]))


def verify_fails_naming(vault: Vault, item_id: str, *expected: str) -> str:
    named = verdicts_agree(vault)  # from the stored bytes as from the re-canonicalised columns
    assert uuid.UUID(item_id) in {item for item, _ in named}
    result = run_cli(["verify"], vault.env(), vault.root)
    assert result.returncode == 1, result.stdout + result.stderr
    fail_lines = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert any(item_id in line for line in fail_lines), result.stdout
    for phrase in expected:
        assert phrase in result.stdout, result.stdout
    return result.stdout


def test_untampered_vault_verifies(ingested: Vault) -> None:
    assert verdicts_agree(ingested) == set()
    result = run_cli(["verify"], ingested.env(), ingested.root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK 3 item(s), 12 custody entries" in result.stdout


def test_flipped_byte_in_sealed_object(ingested: Vault) -> None:
    item = ingested.items()[0]
    flip_byte(item.sealed_locator)
    verify_fails_naming(ingested, str(item.id), "sealed copy was altered")


def test_flipped_byte_in_access_object(ingested: Vault) -> None:
    item = ingested.items()[1]
    flip_byte(item.access_locator)
    out = verify_fails_naming(ingested, str(item.id), "access copy was altered")
    assert "sealed copy" not in out


def test_deleted_object_file(ingested: Vault) -> None:
    item = ingested.items()[2]
    os.unlink(item.access_locator)
    verify_fails_naming(ingested, str(item.id), "access copy is missing")


def test_edited_custody_row(ingested: Vault) -> None:
    item = ingested.items()[0]
    seq = item_entries(ingested, item.id.hex)[1]
    sql(ingested, "UPDATE custody_event SET actor = 'somebody else' WHERE seq = :s", s=seq)
    verify_fails_naming(ingested, str(item.id), f"entry seq {seq}", "was altered")


def test_edited_custody_data_field(ingested: Vault) -> None:
    item = ingested.items()[1]
    seq = item_entries(ingested, item.id.hex)[0]
    # The attacker rewrites one field inside the JSON and leaves every hash column alone.
    with unit_of_work(ingested.app.factory) as session:
        event = session.get(CustodyEvent, seq)
        assert event is not None
        event.data = {**event.data, "officer": "X"}
    verify_fails_naming(ingested, str(item.id), "was altered")


def test_deleted_custody_row(ingested: Vault) -> None:
    item = ingested.items()[0]
    seq = item_entries(ingested, item.id.hex)[1]
    sql(ingested, "DELETE FROM custody_event WHERE seq = :s", s=seq)
    verify_fails_naming(ingested, str(item.id), "chain broken", "missing")


def test_reordered_custody_rows(ingested: Vault) -> None:
    item = ingested.items()[2]
    a, b = item_entries(ingested, item.id.hex)[1:3]
    sql(ingested, "UPDATE custody_event SET seq = -1 WHERE seq = :a", a=a)
    sql(ingested, "UPDATE custody_event SET seq = :a WHERE seq = :b", a=a, b=b)
    sql(ingested, "UPDATE custody_event SET seq = :b WHERE seq = -1", b=b)
    verify_fails_naming(ingested, str(item.id), "was altered", "chain broken")


def test_truncated_log(ingested: Vault) -> None:
    with ingested.app.engine.connect() as conn:
        last_seq, item_hex = conn.execute(
            text("SELECT seq, item_id FROM custody_event ORDER BY seq DESC LIMIT 1")
        ).one()
    sql(ingested, "DELETE FROM custody_event WHERE seq = :s", s=last_seq)
    item = next(i for i in ingested.items() if i.id.hex == str(item_hex).replace("-", ""))
    verify_fails_naming(ingested, str(item.id), "truncated")


def test_item_row_digest_rewritten_to_match_a_substitute(ingested: Vault) -> None:
    item = ingested.items()[0]
    sql(
        ingested,
        "UPDATE evidence_item SET digest = :d WHERE digest = :o",
        d="0" * 64,
        o=item.digest,
    )
    verify_fails_naming(ingested, str(item.id), "ingested entry recorded")


def test_verify_one_item_still_checks_whole_log(ingested: Vault) -> None:
    first, second = ingested.items()[:2]
    flip_byte(second.sealed_locator)
    ok = run_cli(["verify", str(first.id)], ingested.env(), ingested.root)
    assert ok.returncode == 0, ok.stdout
    bad = run_cli(["verify", str(second.id)[:8]], ingested.env(), ingested.root)
    assert bad.returncode == 1 and str(second.id) in bad.stdout


def test_shortened_retention_record_of_a_sealed_object(ingested: Vault) -> None:
    item = ingested.items()[0]
    sealed = ingested.app.stores.sealed
    assert isinstance(sealed, FilesystemStore)
    record = sealed.root / "retention" / item.digest[:2] / f"{item.digest}.json"
    assert record.is_file()
    record.write_text(json.dumps({"until": "2027-01-01T00:00:00+00:00", "hold": False}))
    verify_fails_naming(ingested, str(item.id), "retention lock")


def test_item_row_retention_shortened(ingested: Vault) -> None:
    item = ingested.items()[2]
    with unit_of_work(ingested.app.factory) as session:
        row = session.get(EvidenceItem, item.id)
        assert row is not None
        row.retain_until = datetime(2027, 1, 1, tzinfo=UTC)
    verify_fails_naming(ingested, str(item.id), "differs from the chain")


def test_altered_and_deleted_renditions(ingested: Vault) -> None:
    made, failed = render_pending(ingested.ingest_context())
    assert (made, failed) == (3, 0)
    assert run_cli(["verify"], ingested.env(), ingested.root).returncode == 0
    with unit_of_work(ingested.app.factory) as session:
        renditions = {r.item_id: r.digest for r in session.scalars(select(Rendition))}
    access = ingested.app.stores.access
    assert isinstance(access, FilesystemStore)
    first, second = ingested.items()[:2]
    flip_byte(str(access.path_for(renditions[first.id])))
    os.unlink(access.path_for(renditions[second.id]))
    out = verify_fails_naming(ingested, str(first.id), "access rendition was altered")
    assert "access rendition is missing" in out
    assert any(str(second.id) in line for line in out.splitlines() if line.startswith("FAIL"))
    assert "access copy" not in out  # the items' own copies are intact


def test_item_marked_destroyed_without_a_destruction(ingested: Vault) -> None:
    """An insider hides a deletion by marking the row destroyed: the chain has no destroyed
    entry and no register, and the audit says so."""
    item = ingested.items()[0]
    sql(ingested, "UPDATE evidence_item SET status = 'destroyed' WHERE digest = :d", d=item.digest)
    verify_fails_naming(
        ingested, str(item.id), "item row says destroyed but its chain has no destroyed entry"
    )


def test_edited_stored_bytes_of_an_entry(ingested: Vault) -> None:
    """The insider edits the bytes kept for an entry and leaves its columns and hashes."""
    item = ingested.items()[1]
    seq = item_entries(ingested, item.id.hex)[1]
    with unit_of_work(ingested.app.factory) as session:
        event = session.get(CustodyEvent, seq)
        assert event is not None and event.canonical is not None
        event.canonical = event.canonical.replace(b'"actor":"', b'"actor":"X')
    verify_fails_naming(ingested, str(item.id), f"entry seq {seq}", "was altered")


def test_entry_stored_in_a_form_that_is_not_canonical(ingested: Vault) -> None:
    """Bytes that parse to the entry's own columns and carry a matching hash, chain head and
    log head, but are not RFC 8785: only a writer outside the vault makes them."""
    with unit_of_work(ingested.app.factory) as session:
        event = session.scalars(select(CustodyEvent).order_by(CustodyEvent.seq.desc())).first()
        assert event is not None and event.canonical is not None
        event.canonical = event.canonical.replace(b'"actor":', b'"actor": ')
        event.entry_hash = chain_hash(prev_hash=event.prev_hash, canonical=event.canonical)
        head, log_head = session.get(ChainHead, event.item_id), session.get(LogHead, 1)
        assert head is not None and log_head is not None
        head.head_hash = log_head.last_hash = event.entry_hash
        item, seq = event.item_id, event.seq
    assert verdicts_agree(ingested) == {(item, seq)}
    verify_fails_naming(ingested, str(item), f"entry seq {seq}")


@pytest.mark.parametrize("spelling", ["without hyphens", "in capitals"])
def test_entry_naming_its_item_in_another_spelling(ingested: Vault, spelling: str) -> None:
    """Bytes that name the entry's item in another spelling of its id, with the hash, chain
    head and log head to match (and, for capitals, the item column too where the database
    keeps what it is given): the same item, but not the form the vault writes, so the
    reference reports the entry; the fast audit compared the id without its hyphens and in
    the column's case, and passed it."""
    with unit_of_work(ingested.app.factory) as session:
        event = session.scalars(select(CustodyEvent).order_by(CustodyEvent.seq.desc())).first()
        assert event is not None and event.canonical is not None
        item, seq = event.item_id, event.seq
        written = str(item).replace("-", "") if spelling == "without hyphens" else str(item).upper()
        event.canonical = event.canonical.replace(f'"{item}"'.encode(), f'"{written}"'.encode())
        event.entry_hash = chain_hash(prev_hash=event.prev_hash, canonical=event.canonical)
        head, log_head = session.get(ChainHead, item), session.get(LogHead, 1)
        assert head is not None and log_head is not None
        head.head_hash = log_head.last_hash = event.entry_hash
    if spelling == "in capitals" and ingested.app.engine.dialect.name == "sqlite":
        # The insider switches the foreign-key check off for the connection, as they may.
        pooled = ingested.app.engine.raw_connection()
        raw: Any = pooled.driver_connection
        raw.execute("PRAGMA foreign_keys=OFF")
        raw.execute("UPDATE custody_event SET item_id = ? WHERE seq = ?", (item.hex.upper(), seq))
        raw.execute("PRAGMA foreign_keys=ON")
        pooled.close()
    # (PostgreSQL's uuid column keeps no case: there only the stored bytes differ.)
    assert verdicts_agree(ingested) == {(item, seq)}
    verify_fails_naming(ingested, str(item), f"entry seq {seq}")


@pytest.mark.parametrize("written", [b"%d.0", b"%de0"])
def test_entry_with_its_seq_written_as_another_number(
    ingested: Vault, written: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bytes whose seq is the same number written as a float (``12.0``, ``12e0``), with the
    hash, chain head and log head to match: equal in value, but not the entry the vault
    hashed, so the reference reports it; the fast audit compared the values and passed it.
    The fast audit re-serialises only a sample of a large log (2,000 entries); here the
    sample is made to miss this entry, as it misses most entries of a large log."""
    plan = log_scan._plan

    def missing_every_entry(*args: Any) -> list[log_scan.ScanRange]:
        return [replace(r, canonical_every=10**9, canonical_offset=0) for r in plan(*args)]

    monkeypatch.setattr(log_scan, "_plan", missing_every_entry)
    with unit_of_work(ingested.app.factory) as session:
        event = session.scalars(select(CustodyEvent).order_by(CustodyEvent.seq.desc())).first()
        assert event is not None and event.canonical is not None
        item, seq = event.item_id, event.seq
        event.canonical = event.canonical.replace(
            b'"seq":%d}' % seq, b'"seq":' + written % seq + b"}"
        )
        event.entry_hash = chain_hash(prev_hash=event.prev_hash, canonical=event.canonical)
        head, log_head = session.get(ChainHead, item), session.get(LogHead, 1)
        assert head is not None and log_head is not None
        head.head_hash = log_head.last_hash = event.entry_hash
    assert verdicts_agree(ingested) == {(item, seq)}
    verify_fails_naming(ingested, str(item), f"entry seq {seq}")

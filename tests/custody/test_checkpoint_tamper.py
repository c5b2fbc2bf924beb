"""Attacks on the log that per-item chains alone cannot catch, each caught by `evault audit
verify` against signed checkpoints (and a witness file), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from custody.log.canonical import GENESIS_HASH, canonical_bytes, entry_hash, event_document
from custody.log.merkle import TreeBuilder, leaf_hash
from custody.log.models import ChainHead, CustodyEvent, LogHead
from custody.log.proof_models import Checkpoint, MerkleNode
from tests.conftest import Vault, put_clip, run_cli
from tests.custody.test_tamper import flip_byte, sql
from tests.custody.verdicts import verdicts_agree
from vault.db import unit_of_work


@pytest.fixture
def signed(vault: Vault, clip_dir: Path) -> Vault:
    """Three items, a checkpoint over their 12 entries, a witness file, then a fourth item."""
    for n in range(3):
        put_clip(clip_dir, n, vault.station_dir / "CAM1" / f"clip{n}.mp4")
    vault.ingest()
    cli(vault, "checkpoint")
    cli(vault, "checkpoint", "export", str(vault.root / "witness.json"))
    put_clip(clip_dir, 3, vault.station_dir / "CAM2" / "clip3.mp4")
    vault.ingest()
    return vault


def cli(vault: Vault, *args: str) -> str:
    result = run_cli(list(args), vault.env(), vault.root)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def audit_fails(vault: Vault, *phrases: str, against: bool = False) -> str:
    args = ["audit", "verify"] + (
        ["--against", str(vault.root / "witness.json")] if against else []
    )
    assert verdicts_agree(vault, witness=vault.root / "witness.json" if against else None)
    result = run_cli(args, vault.env(), vault.root)
    out = " ".join(result.stdout.split())  # rich wraps long lines
    assert result.returncode == 1, result.stdout + result.stderr
    for phrase in phrases:
        assert phrase in out, result.stdout
    return out


def rewrite_chain_from(vault: Vault, seq: int, new_data: dict[str, object]) -> None:
    """What an insider with the code and write access does: change one entry's data, then
    recompute its hash and every later hash of that item's chain, the chain head and the log
    head, so that every per-item chain check passes."""
    with unit_of_work(vault.app.factory) as session:
        target = session.get(CustodyEvent, seq)
        assert target is not None
        target.data = new_data
        chain = session.scalars(
            select(CustodyEvent)
            .where(CustodyEvent.item_id == target.item_id)
            .order_by(CustodyEvent.seq)
        ).all()
        prev = GENESIS_HASH
        for row in chain:
            document = event_document(
                seq=row.seq, item=row.item_id, kind=row.kind, actor=row.actor, at=row.at,
                reason=row.reason, data=dict(row.data),
            )  # fmt: skip
            row.prev_hash, row.entry_hash = prev, entry_hash(prev_hash=prev, document=document)
            row.canonical = canonical_bytes(document)  # the stored form too: nothing disagrees
            prev = row.entry_hash
        session.flush()
        head = session.get(ChainHead, target.item_id)
        log_head = session.get(LogHead, 1)
        assert head is not None and log_head is not None
        head.head_hash = prev
        last = session.scalars(select(CustodyEvent).order_by(CustodyEvent.seq.desc())).first()
        assert last is not None
        log_head.last_hash = last.entry_hash


def test_signed_log_verifies_with_and_without_the_witness(signed: Vault) -> None:
    for args in (
        ["audit", "verify"],
        ["audit", "verify", "--against", "witness.json"],
        ["audit", "verify", "--recompute"],  # the reference, from the columns
    ):
        result = run_cli(args, signed.env(), signed.root)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "OK 4 item(s), 16 custody entries" in result.stdout


def test_rewritten_history_with_recomputed_chain_is_caught_by_the_checkpoint(
    signed: Vault,
) -> None:
    first = signed.items()[0]
    with unit_of_work(signed.app.factory) as session:
        seq = session.scalars(
            select(CustodyEvent.seq).where(CustodyEvent.item_id == first.id).limit(1)
        ).one()
        data = dict(session.get(CustodyEvent, seq).data)  # type: ignore[union-attr]
    rewrite_chain_from(signed, seq, {**data, "station": "a station it never came from"})
    out = audit_fails(signed, "checkpoint 1 signed the first 12 entries", "history was rewritten")
    assert "chain broken" not in out and "entry seq" not in out  # the chains themselves pass


def test_rewritten_history_and_re_signed_checkpoints_are_caught_by_the_witness(
    signed: Vault,
) -> None:
    """The insider also deletes the checkpoints, the keys, and signs a fresh checkpoint with
    a key of their own: only the checkpoint kept outside the vault can tell."""
    seq = 1
    with unit_of_work(signed.app.factory) as session:
        data = dict(session.get(CustodyEvent, seq).data)  # type: ignore[union-attr]
    rewrite_and_re_sign(signed, seq, {**data, "station": "somewhere else"})
    audit_fails(
        signed, "the witnessed checkpoint signed the first 12 entries", "history was rewritten",
        against=True,
    )  # fmt: skip


def test_rewritten_and_re_signed_history_is_caught_by_the_sealed_stores_checkpoints(
    signed: Vault,
) -> None:
    """The same insider, and no witness file: the genuine checkpoint is still in the sealed
    store under legal hold, so the audit alone names it, its missing row, and the rewrite."""
    with unit_of_work(signed.app.factory) as session:
        data = dict(session.get(CustodyEvent, 1).data)  # type: ignore[union-attr]
        genuine = session.scalars(select(Checkpoint.sealed_digest)).one()
    assert genuine is not None
    rewrite_and_re_sign(signed, 1, {**data, "station": "somewhere else"})
    out = audit_fails(
        signed,
        f"the checkpoint kept in the sealed store as sha256:{genuine[:16]}… (12 entries",
        "has no checkpoint row in the database: it was deleted",
        "signed the first 12 entries",
        "history was rewritten",
    )
    assert "chain broken" not in out


def rewrite_and_re_sign(vault: Vault, seq: int, new_data: dict[str, object]) -> None:
    """The insider rewrites an entry, deletes the checkpoint rows, keys and stored tree, and
    signs a fresh checkpoint with a key of their own."""
    rewrite_chain_from(vault, seq, new_data)
    sql(vault, "DELETE FROM checkpoint")
    sql(vault, "DELETE FROM signing_key")
    sql(vault, "DELETE FROM merkle_node")
    rebuild_merkle_nodes(vault)
    for key in (vault.app.settings.keys_path).glob("*.pem"):
        key.unlink()
    cli(vault, "checkpoint")


def rebuild_merkle_nodes(vault: Vault) -> None:
    with unit_of_work(vault.app.factory) as session:
        builder = TreeBuilder()
        for row in session.scalars(select(CustodyEvent).order_by(CustodyEvent.seq)):
            document = event_document(
                seq=row.seq, item=row.item_id, kind=row.kind, actor=row.actor, at=row.at,
                reason=row.reason, data=dict(row.data),
            )  # fmt: skip
            for level, position, digest in builder.append(leaf_hash(canonical_bytes(document))):
                session.add(MerkleNode(level=level, position=position, hash=digest))


def test_truncated_log_after_a_checkpoint(signed: Vault) -> None:
    """Entries 8..12 removed with the heads adjusted, so the remaining chains look whole."""
    sql(signed, "DELETE FROM custody_event WHERE seq >= 8")
    sql(signed, "DELETE FROM merkle_node")
    with unit_of_work(signed.app.factory) as session:
        last = session.scalars(select(CustodyEvent).order_by(CustodyEvent.seq.desc())).first()
        log_head = session.get(LogHead, 1)
        assert last is not None and log_head is not None
        log_head.last_seq, log_head.last_hash = last.seq, last.entry_hash
    audit_fails(signed, "checkpoint 1 signed a log of 12 entries", "truncated")


def test_forged_checkpoint_signature(signed: Vault) -> None:
    with unit_of_work(signed.app.factory) as session:
        checkpoint = session.scalars(select(Checkpoint)).one()
        body, _, signature = checkpoint.note.rpartition("\n\n")
        name, encoded = signature.rsplit(" ", 1)
        forged = encoded[:10] + ("A" if encoded[10] != "A" else "B") + encoded[11:]
        checkpoint.note = f"{body}\n\n{name} {forged}"
    audit_fails(signed, "checkpoint 1 is forged or altered", "does not verify")


def test_checkpoint_row_edited_to_another_root(signed: Vault) -> None:
    sql(signed, "UPDATE checkpoint SET root_hash = :r", r=bytes(32))
    audit_fails(signed, "checkpoint 1 is forged or altered", "the row was edited")


def test_flipped_byte_in_the_sealed_checkpoint_copy(signed: Vault) -> None:
    with unit_of_work(signed.app.factory) as session:
        digest = session.scalars(select(Checkpoint.sealed_digest)).one()
    assert digest is not None
    sealed = signed.app.stores.sealed
    flip_byte(str(sealed.path_for(digest)), offset=5)  # type: ignore[attr-defined]
    audit_fails(signed, "checkpoint 1's sealed copy was altered")


def test_altered_stored_merkle_node(signed: Vault) -> None:
    sql(signed, "UPDATE merkle_node SET hash = :h WHERE level = 2 AND position = 0", h=bytes(32))
    audit_fails(signed, "1 stored Merkle node(s) differ", "(level 2, position 0)")


def test_witness_file_that_was_edited_is_refused(signed: Vault) -> None:
    path = signed.root / "witness.json"
    document = json.loads(path.read_text())
    document["checkpoint"] = document["checkpoint"].replace("\n12\n", "\n11\n")
    path.write_text(json.dumps(document))
    audit_fails(signed, "the witness file's checkpoint does not verify", against=True)


def test_signing_refuses_a_log_that_does_not_extend_the_last_checkpoint(signed: Vault) -> None:
    first_seq = 2
    with unit_of_work(signed.app.factory) as session:
        data = dict(session.get(CustodyEvent, first_seq).data)  # type: ignore[union-attr]
    rewrite_chain_from(signed, first_seq, {**data, "extra": "x"})
    sql(signed, "DELETE FROM merkle_node")
    rebuild_merkle_nodes(signed)
    result = run_cli(["checkpoint"], signed.env(), signed.root)
    assert result.returncode != 0
    assert "refusing to sign" in " ".join((result.stdout + result.stderr).split())

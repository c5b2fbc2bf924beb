"""The vault's tree, proofs and checkpoint notes, checked by tests/rfc_reference.py: a
verifier written from RFC 9162 and C2SP signed-note that shares no code with custody/."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from custody.log.merkle import TreeBuilder, consistency_proof, inclusion_proof, leaf_hash, tree_root
from custody.log.merkle_store import stored_consistency_proof, stored_inclusion_proof
from custody.log.models import CustodyEvent
from custody.log.proof_models import Checkpoint, SigningKey
from tests import rfc_reference as rfc
from tests.conftest import Vault, put_clip, run_cli
from vault.db import unit_of_work


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(max_size=20), min_size=1, max_size=40), st.data())
def test_tree_and_proofs_equal_the_rfc_definitions(log: list[bytes], data: st.DataObject) -> None:
    builder, nodes = TreeBuilder(), {}
    for entry in log:
        for level, position, digest in builder.append(leaf_hash(entry)):
            nodes[(level, position)] = digest

    def lookup(level: int, position: int) -> bytes:
        return nodes[(level, position)]

    size = len(log)
    assert tree_root(size, lookup) == rfc.mth(log)
    index = data.draw(st.integers(0, size - 1))
    ours = inclusion_proof(index, size, lookup)
    assert ours == rfc.path(index, log)
    assert rfc.root_from_inclusion(index, size, log[index], ours) == rfc.mth(log)
    old = data.draw(st.integers(1, size))
    assert consistency_proof(old, size, lookup) == rfc.proof(old, log)


def raw_entry_bytes(row: CustodyEvent) -> bytes:
    """The entry's canonical form built from DESIGN.md's description, with rfc8785 directly."""
    return rfc8785.dumps(
        {
            "seq": row.seq,
            "item": str(row.item_id),
            "kind": row.kind,
            "actor": row.actor,
            "at": row.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "reason": row.reason,
            "data": row.data,
        }
    )


def test_a_real_vaults_checkpoints_and_proofs_verify_independently(
    vault: Vault, clip_dir: Path
) -> None:
    put_clip(clip_dir, 0, vault.station_dir / "CAM1" / "a.mp4")
    vault.ingest()
    assert run_cli(["checkpoint"], vault.env(), vault.root).returncode == 0
    for n in (1, 2):
        put_clip(clip_dir, n, vault.station_dir / "CAM1" / f"b{n}.mp4")
    vault.ingest()
    assert run_cli(["checkpoint"], vault.env(), vault.root).returncode == 0

    with unit_of_work(vault.app.factory, read_only=True) as session:
        rows = session.scalars(select(CustodyEvent).order_by(CustodyEvent.seq)).all()
        entries = [raw_entry_bytes(r) for r in rows]
        (key,) = session.scalars(select(SigningKey)).all()
        first, second = session.scalars(select(Checkpoint).order_by(Checkpoint.id)).all()
        proofs = {
            seq: stored_inclusion_proof(session, seq=seq, size=second.tree_size)
            for seq in range(1, second.tree_size + 1)
        }
        consistency = stored_consistency_proof(
            session, old_size=first.tree_size, new_size=second.tree_size
        )
    for checkpoint in (first, second):
        text = rfc.verify_note(checkpoint.note, key.name, bytes(key.public_key))
        origin, size, root = rfc.checkpoint_fields(text)
        assert origin == key.name
        assert root == rfc.mth(entries[:size])
    assert (first.tree_size, second.tree_size) == (4, 12)  # four ingest entries per item
    for seq, proof in proofs.items():
        assert rfc.root_from_inclusion(seq - 1, 12, entries[seq - 1], proof) == rfc.mth(entries)
    assert consistency == rfc.proof(4, entries)

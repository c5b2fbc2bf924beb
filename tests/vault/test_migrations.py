"""The migrations build exactly the models' schema; 0007 builds the Merkle tree of a log
written before it and 0023 its entries' canonical bytes (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, select, text

import custody.admin.models  # noqa: F401 - every model in the metadata, as in migrations/env.py
import ingest.models  # noqa: F401
from custody.log.canonical import canonical_bytes, chain_hash, event_document
from custody.log.merkle import root_from_leaves
from custody.log.merkle_store import stored_root
from custody.log.models import CustodyEvent, LogHead
from custody.log.proof_models import MerkleNode
from migrations import HEAD, alembic_config, is_current, recorded_revision, upgrade
from tests.conftest import Vault, put_clip, run_cli
from tests.custody.verdicts import verdicts_agree
from vault.db import Base, unit_of_work


def test_migrated_schema_equals_the_models(vault: Vault) -> None:
    with vault.app.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_head_names_the_newest_migration(vault: Vault) -> None:
    """migrations.HEAD lets a current database skip Alembic: it must be Alembic's own head, or
    a new migration would never run on an existing vault."""
    scripts = ScriptDirectory.from_config(alembic_config(vault.app.engine))
    assert scripts.get_current_head() == HEAD
    assert recorded_revision(vault.app.engine) == HEAD and is_current(vault.app.engine)


def test_a_database_behind_head_is_upgraded_and_reported_behind(vault: Vault) -> None:
    command.downgrade(alembic_config(vault.app.engine), "0020")
    assert recorded_revision(vault.app.engine) == "0020"
    assert not is_current(vault.app.engine)
    upgrade(vault.app.engine)
    assert recorded_revision(vault.app.engine) == HEAD


def test_0007_builds_the_tree_of_an_existing_log(vault: Vault, clip_dir: Path) -> None:
    for n in range(3):
        put_clip(clip_dir, n, vault.station_dir / "CAM1" / f"clip{n}.mp4")
    vault.ingest()
    with unit_of_work(vault.app.factory) as session:
        size = session.get(LogHead, 1).last_seq  # type: ignore[union-attr]
        before = stored_root(session, size)
    assert size == 12  # four entries per item
    command.downgrade(alembic_config(vault.app.engine), "0006")  # as a vault of last version
    upgrade(vault.app.engine)
    with unit_of_work(vault.app.factory) as session:
        nodes = session.scalar(select(func.count()).select_from(MerkleNode))
        assert stored_root(session, size) == before
        leaves = session.scalars(
            select(MerkleNode.hash).where(MerkleNode.level == 0).order_by(MerkleNode.position)
        ).all()
    assert nodes == 12 + 6 + 3 + 1  # leaves, pairs, fours, the eight
    assert root_from_leaves(bytes(h) for h in leaves) == (12, before)
    result = run_cli(["audit", "verify"], vault.env(), vault.root)
    assert result.returncode == 0, result.stdout + result.stderr


def test_0023_keeps_the_canonical_bytes_of_entries_written_before_it(
    vault: Vault, clip_dir: Path
) -> None:
    """Existing entries get the bytes their hash was computed from; an entry already edited
    gets none (the migration never stores bytes its hash contradicts), and the audit names it."""
    for n in range(2):
        put_clip(clip_dir, n, vault.station_dir / "CAM1" / f"clip{n}.mp4")
    vault.ingest()
    command.downgrade(alembic_config(vault.app.engine), "0022")
    with vault.app.engine.begin() as connection:
        connection.execute(text("UPDATE custody_event SET actor = 'somebody else' WHERE seq = 3"))
    upgrade(vault.app.engine)
    with unit_of_work(vault.app.factory) as session:
        events = session.scalars(select(CustodyEvent).order_by(CustodyEvent.seq)).all()
        assert len(events) == 8
        for event in events:
            if event.seq == 3:
                assert event.canonical is None
                continue
            document = event_document(
                seq=event.seq, item=event.item_id, kind=event.kind, actor=event.actor,
                at=event.at, reason=event.reason, data=event.data,
            )  # fmt: skip
            assert event.canonical == canonical_bytes(document)
            assert chain_hash(prev_hash=event.prev_hash, canonical=event.canonical) == (
                event.entry_hash
            )
        edited = next(e for e in events if e.seq == 3)
    # The entry, and the stored Merkle leaf its edited columns no longer hash to.
    assert verdicts_agree(vault) == {(edited.item_id, 3), (None, None)}

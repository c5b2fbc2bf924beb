"""The migrations build exactly the models' schema, and 0007 builds the Merkle tree of a log
written before it (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, select

import custody.admin.models  # noqa: F401 - every model in the metadata, as in migrations/env.py
import ingest.models  # noqa: F401
from custody.log.merkle import root_from_leaves
from custody.log.merkle_store import stored_root
from custody.log.models import LogHead
from custody.log.proof_models import MerkleNode
from migrations import HEAD, alembic_config, is_current, recorded_revision, upgrade
from tests.conftest import Vault, put_clip, run_cli
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

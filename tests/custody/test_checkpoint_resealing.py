"""Checkpoint copies kept in the sealed store for ever: the weekly keep-forever job puts back
one that is gone from the database's copy when that copy still verifies, and refuses (and
reports) when it does not."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import select, update

from custody.log.proof_models import Checkpoint
from retention.forever import keep_forever
from tests.conftest import Vault, put_clip, run_cli
from vault.alerts import recent_alerts
from vault.db import unit_of_work
from vault.stores.filesystem import FilesystemStore


def test_a_lost_checkpoint_copy_is_resealed_only_from_a_note_that_verifies(
    vault: Vault, clip_dir: Path
) -> None:
    env = vault.env()
    for n in range(2):
        put_clip(clip_dir, n, vault.station_dir / "CAM1" / f"clip{n}.mp4")
        vault.ingest()
        assert run_cli(["checkpoint"], env, vault.root).returncode == 0
    with unit_of_work(vault.app.factory, read_only=True) as session:
        first, second = session.execute(
            select(Checkpoint.id, Checkpoint.sealed_digest).order_by(Checkpoint.tree_size)
        ).all()
    sealed = vault.app.stores.sealed
    assert isinstance(sealed, FilesystemStore)
    for _, digest in (first, second):
        path = sealed.path_for(str(digest))
        os.chmod(path.parent, 0o700)
        path.unlink()  # lost: a disk, a restore, an insider
    with vault.app.engine.begin() as conn:  # the second's database copy is edited too
        conn.execute(
            update(Checkpoint).where(Checkpoint.id == second[0]).values(note="forged note\n")
        )
    kept = keep_forever(vault.app.factory, vault.app.stores)
    assert sealed.exists(str(first[1]))
    assert not sealed.exists(str(second[1]))
    said = " | ".join(kept.problems)
    assert f"checkpoint {first[0]}'s sealed copy was gone: put back" in said
    assert f"checkpoint {second[0]}'s sealed copy is gone and cannot be put back" in said
    with unit_of_work(vault.app.factory, read_only=True) as session:
        alerts = [a for a in recent_alerts(session) if a.kind == "kept_forever"]
    assert len(alerts) == 1 and "cannot be put back" in alerts[0].message

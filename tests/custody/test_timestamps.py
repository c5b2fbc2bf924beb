"""RFC 3161 tokens over checkpoints from a real (local) TSA over HTTP, key rotation and
renewal, and the audit's checks of both."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from custody.log.proof_models import Checkpoint
from tests.conftest import Vault, put_clip, run_cli
from tests.s3server import free_port
from tests.tsa import LocalTsa, local_tsa
from vault.db import unit_of_work


def run(vault: Vault, env: dict[str, str], *args: str) -> tuple[int, str]:
    result = run_cli(list(args), env, vault.root)
    return result.returncode, " ".join((result.stdout + result.stderr).split())


def with_tsa(vault: Vault, url: str, root: Path) -> dict[str, str]:
    return vault.env() | {"EVAULT_TSA_URL": url, "EVAULT_TSA_TRUST_ROOTS": json.dumps([str(root)])}


def checkpoints(vault: Vault) -> list[Checkpoint]:
    with unit_of_work(vault.app.factory, read_only=True) as session:
        return list(session.scalars(select(Checkpoint).order_by(Checkpoint.id)))


def test_checkpoints_are_time_stamped_rotated_renewed_and_verified(
    vault: Vault, clip_dir: Path, tsa: LocalTsa
) -> None:
    env = with_tsa(vault, tsa.url, tsa.root_pem)
    put_clip(clip_dir, 0, vault.station_dir / "CAM1" / "a.mp4")
    vault.ingest()
    code, out = run(vault, env, "checkpoint")
    assert code == 0 and "time-stamped 1 checkpoint(s)" in out, out
    assert checkpoints(vault)[0].timestamp_token is not None

    code, out = run(vault, env, "key", "rotate")
    assert code == 0 and "new signing key" in out, out
    code, out = run(vault, env, "checkpoint", "renew")
    assert code == 0 and "renews checkpoint 1" in out, out
    first, renewed = checkpoints(vault)
    assert renewed.renews_id == first.id and renewed.timestamp_token is not None
    assert renewed.note.count("\n\u2014 ") == 2  # the old signature and the new key's
    assert run(vault, env, "checkpoint", "renew")[0] == 0  # again, with no new key:
    assert checkpoints(vault)[-1].note == renewed.note  # re-time-stamped, not re-signed
    code, out = run(vault, env, "key", "list")
    assert code == 0 and "current" in out and out.count("evidence-vault/") >= 2, out

    code, out = run(vault, env, "audit", "verify")
    assert code == 0, out


def test_a_token_for_another_note_or_from_an_untrusted_tsa_fails_the_audit(
    vault: Vault, clip_dir: Path, tsa: LocalTsa, tmp_path: Path
) -> None:
    env = with_tsa(vault, tsa.url, tsa.root_pem)
    put_clip(clip_dir, 0, vault.station_dir / "CAM1" / "a.mp4")
    vault.ingest()
    assert run(vault, env, "checkpoint")[0] == 0
    put_clip(clip_dir, 1, vault.station_dir / "CAM1" / "b.mp4")
    vault.ingest()
    assert run(vault, env, "checkpoint")[0] == 0

    (tmp_path / "other").mkdir()
    with local_tsa(tmp_path / "other") as other:
        code, out = run(vault, with_tsa(vault, other.url, other.root_pem), "audit", "verify")
    assert code == 1 and "not from a trusted TSA" in out, out

    with unit_of_work(vault.app.factory) as session:
        first, second = session.scalars(select(Checkpoint).order_by(Checkpoint.id)).all()
        first.timestamp_token, second.timestamp_token = (
            second.timestamp_token,
            first.timestamp_token,
        )
    code, out = run(vault, env, "audit", "verify")
    assert code == 1, out
    assert "checkpoint 1's time-stamp token is not valid for this note" in out, out


def test_a_tsa_that_is_down_delays_the_token_not_the_checkpoint(
    vault: Vault, clip_dir: Path, tsa: LocalTsa
) -> None:
    put_clip(clip_dir, 0, vault.station_dir / "CAM1" / "a.mp4")
    vault.ingest()
    down = with_tsa(vault, f"http://127.0.0.1:{free_port()}/tsa", tsa.root_pem)
    code, out = run(vault, down, "checkpoint")
    assert code == 1 and "not time-stamped yet" in out, out
    (pending,) = checkpoints(vault)
    assert pending.timestamp_token is None  # signed and kept all the same
    code, out = run(vault, with_tsa(vault, tsa.url, tsa.root_pem), "checkpoint")
    assert code == 0 and "time-stamped 1 checkpoint(s)" in out, out
    assert checkpoints(vault)[0].timestamp_token is not None

"""The access workflow at the terminal: request, approve (not one's own), fetch."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import select

from custody.log.models import CustodyEvent
from tests.conftest import Vault, put_clip, run_cli
from vault.db import unit_of_work


def token_for(vault: Vault, user: str, *roles: str) -> str:
    role_args = [arg for role in roles for arg in ("-r", role)]
    assert run_cli(["user", "add", user, *role_args], vault.env(), vault.root).returncode == 0
    issued = run_cli(["token", "issue", user, "--days", "1"], vault.env(), vault.root)
    return issued.stdout.strip().splitlines()[-1]


def downloads(vault: Vault) -> list[CustodyEvent]:
    with unit_of_work(vault.app.factory) as session:
        query = select(CustodyEvent).where(CustodyEvent.kind == "downloaded")
        return list(session.execute(query).scalars())


def test_request_approve_fetch(vault: Vault, clip_dir: Path) -> None:
    put_clip(clip_dir, 3, vault.station_dir / "CAM9" / "clip.mp4")
    vault.ingest()
    item = vault.items()[0]
    investigator = token_for(vault, "wang", "investigator", "approver")
    approver = token_for(vault, "zhao", "approver")
    env = vault.env()

    asked = run_cli(
        ["request", item.digest[:12], "--purpose", "copy_original", "-m", "case 117",
         "--token", investigator],
        env, vault.root,
    )  # fmt: skip
    assert asked.returncode == 0, asked.stderr
    number = asked.stdout.split(":")[0].strip()
    assert number.startswith("AR-") and "pending" in asked.stdout

    own = run_cli(["approve", number, "-m", "mine", "--token", investigator], env, vault.root)
    assert own.returncode == 3 and "own request" in own.stderr
    early = run_cli(["fetch", number, item.digest[:12], "-o", "early.mp4", "--token",
                     investigator], env, vault.root)  # fmt: skip
    assert early.returncode == 3 and "pending" in early.stderr
    assert not (vault.root / "early.mp4").exists()

    ok = run_cli(["approve", number, "-m", "in scope", "--token", approver], env, vault.root)
    assert ok.returncode == 0 and "approved until" in ok.stdout
    out = vault.root / "copy.mp4"
    fetched = run_cli(
        ["fetch", number, item.digest[:12], "-o", str(out), "--token", investigator],
        env, vault.root,
    )  # fmt: skip
    assert fetched.returncode == 0, fetched.stderr
    data = out.read_bytes()
    assert hashlib.sha256(data).hexdigest() == item.digest
    [event] = downloads(vault)
    assert event.data["digest"] == item.digest and event.data["request"] == number

    again = run_cli(
        ["fetch", number, item.digest[:12], "-o", str(out), "--token", investigator],
        env, vault.root,
    )  # fmt: skip
    assert again.returncode == 3 and "exists" in again.stderr
    assert len(downloads(vault)) == 1  # a refused fetch records nothing
    listed = run_cli(["requests", "--token", approver], env, vault.root)
    assert number in listed.stdout and "approved" in listed.stdout
    no_token = run_cli(["requests"], env, vault.root)
    assert no_token.returncode == 3 and "EVAULT_TOKEN" in no_token.stderr

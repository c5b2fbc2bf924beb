"""The newcomer's path: `evault demo`, ingest, list, show, custody, verify."""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.conftest import REPO, run_cli


def test_demo_recordings_end_up_verified(isolated_env: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVAULT_")}
    env.update({"PYTHONPATH": str(REPO), "EVAULT_SETTLE_SECONDS": "1", "COLUMNS": "250"})
    made = run_cli(["demo", "--slow-seconds", "3"], env, isolated_env)
    assert made.returncode == 0, made.stderr
    assert (isolated_env / "evault.toml").is_file()
    assert "still being written" in made.stdout
    first = run_cli(["ingest", "--once"], env, isolated_env)
    assert first.returncode == 0, first.stderr
    time.sleep(3)  # the slow writer finishes
    second = run_cli(["ingest", "--once"], env, isolated_env)
    assert second.returncode == 0, second.stderr

    listing = run_cli(["list"], env, isolated_env)
    assert "7 item(s)" in listing.stdout, listing.stdout
    assert "unreadable" in listing.stdout  # the non-video is kept all the same
    verified = run_cli(["verify"], env, isolated_env)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "every object checked verified" in " ".join(verified.stdout.split())

    # Piped, the list is plain columns and the first is the whole id.
    item_id = next(line.split()[0] for line in listing.stdout.splitlines() if "incident" in line)
    shown = run_cli(["show", item_id], env, isolated_env)
    assert "No. 1 Demo Road" in shown.stdout
    chain = run_cli(["custody", item_id], env, isolated_env)
    assert all(k in chain.stdout for k in ("ingested", "sealed", "access_copy_stored"))
    station = isolated_env / "evault-data" / "demo-station"
    assert not any(p.is_file() for d in ("DEV001", "DEV002") for p in (station / d).iterdir())


def test_help_teaches(isolated_env: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVAULT_")}
    env.update({"PYTHONPATH": str(REPO), "COLUMNS": "200"})
    out = run_cli(["--help"], env, isolated_env)
    assert out.returncode == 0
    assert "evault demo" in out.stdout and "verify" in out.stdout
    verify_help = run_cli(["verify", "--help"], env, isolated_env)
    assert "exits 1 on any" in " ".join(verify_help.stdout.split())

"""Three daemons, one database, one station with 60 files; one daemon is SIGKILLed mid-file.

Invariant 1 across processes: every file becomes exactly one item, nothing is acknowledged
without its item, the dead daemon's file is taken over by another, every chain verifies and
seq has no gap. Work is shared only through database row locks (no coordinator)."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO

from sqlalchemy import select, text

from custody.log.proof_models import Checkpoint
from ingest.models import FileState
from tests.conftest import Vault, run_cli
from tests.ingest.test_daemon import wait_for
from vault.db import unit_of_work
from vault.models import Rendition
from vault.stores.filesystem import FilesystemStore

FILES = 60
DAEMONS = 3
MiB = 1024 * 1024


def make_station(vault: Vault, seed: int) -> dict[str, str]:
    """60 distinct files of 4-8 MiB over three device folders; returns digest by name."""
    rng = random.Random(seed)
    digests = {}
    for n in range(FILES):
        path = vault.station_dir / f"CAM{n % 3}" / f"rec{n:02d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        # 4-8 MiB: a sealed copy and its commit are then tens of milliseconds apart, time
        # enough for the kill to land between them on a loaded two-core machine.
        data = rng.randbytes(rng.randint(4, 8) * MiB)
        path.write_bytes(data)
        digests[path.name] = hashlib.sha256(data).hexdigest()
    return digests


def start_daemon(vault: Vault, env: dict[str, str], log: IO[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "api.cli.main", "daemon"],
        env=env,
        cwd=vault.root,
        stdout=subprocess.DEVNULL,
        stderr=log,
        text=True,
    )


def steps(log_path: Path) -> list[dict[str, str]]:
    lines = log_path.read_text(errors="replace").splitlines()
    parsed = [json.loads(line) for line in lines if line.startswith("{")]
    return [line for line in parsed if line.get("event") == "ingest step"]


def kill_first_mid_file(daemons: list[subprocess.Popen[str]], logs: list[Path]) -> int:
    """SIGKILL the first daemon seen to have written a sealed copy it has not yet committed;
    returns which one it was."""
    handles = [open(path, "rb") for path in logs]  # noqa: SIM115 - closed below
    unread = [b""] * len(handles)  # a line cut by the last read
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            for n, handle in enumerate(handles):
                # Only what was written since the last look: the kill must land within the
                # few milliseconds between a sealed copy and its commit.
                fresh = unread[n] + handle.read()
                unread[n] = fresh[fresh.rfind(b"\n") + 1 :]
                if b'"step": "sealed_written"' in fresh:
                    daemons[n].send_signal(signal.SIGKILL)
                    daemons[n].wait(timeout=30)
                    return n
            time.sleep(0.001)
    finally:
        for handle in handles:
            handle.close()
    raise AssertionError("no daemon ever started a file")


def test_three_daemons_one_killed(vault: Vault) -> None:
    seed = int(os.environ.get("CRASH_SEED", random.randrange(1 << 30)))
    print(f"CRASH_SEED={seed}")
    env = vault.env() | {"EVAULT_SCAN_INTERVAL_SECONDS": "0.3", "EVAULT_SETTLE_SECONDS": "0.5"}
    logs = [vault.root / f"daemon{n}.log" for n in range(DAEMONS)]
    handles = [open(path, "w") for path in logs]  # noqa: SIM115 - closed in finally
    daemons = [start_daemon(vault, env, handle) for handle in handles]
    try:
        # The files arrive once every daemon is up, so all three compete from the start.
        wait_for(lambda: all("daemon started" in log.read_text() for log in logs))
        # Written while the watch for the first file in flight runs: the daemons start on
        # the first files long before the last one is written.
        with ThreadPoolExecutor(1) as writer:
            written = writer.submit(make_station, vault, seed)
            victim = kill_first_mid_file(daemons, logs)
            digests = written.result()
        survivors = [d for n, d in enumerate(daemons) if n != victim]
        survivor_logs = [log for n, log in enumerate(logs) if n != victim]
        victim_steps = steps(logs[victim])
        claimed = {s["file"] for s in victim_steps if s["step"] == "claimed"}
        committed = {s["file"] for s in victim_steps if s["step"] == "committed"}
        in_flight = claimed - committed
        assert in_flight, "the kill did not land mid-file"

        def all_acknowledged() -> bool:
            with vault.app.engine.connect() as conn:
                states = conn.execute(text("SELECT state FROM station_file")).scalars().all()
            return len(states) == FILES and set(states) == {FileState.ACKNOWLEDGED.value}

        wait_for(all_acknowledged, timeout=300)
        for survivor in survivors:
            survivor.send_signal(signal.SIGTERM)
        for survivor in survivors:
            assert survivor.wait(timeout=60) == 0
    finally:
        for daemon in daemons:
            if daemon.poll() is None:
                daemon.kill()
        for handle in handles:
            handle.close()

    # Sharing must be clean, not merely convergent: no deadlock, no failed scan or ingest.
    for log in logs:
        errors = [line for line in log.read_text().splitlines() if '"level": "error"' in line]
        assert errors == [], errors[0][:2000]
    items = vault.items()
    assert sorted(item.digest for item in items) == sorted(digests.values())
    assert {item.original_name: item.digest for item in items} == digests
    with vault.app.engine.connect() as conn:
        seqs = conn.execute(text("SELECT seq FROM custody_event ORDER BY seq")).scalars().all()
        ingested = conn.execute(
            text("SELECT count(*) FROM custody_event WHERE kind = 'ingested'")
        ).scalar_one()
    assert seqs == list(range(1, len(seqs) + 1))
    assert ingested == FILES
    # Both survivors did real work: the rows were shared, not taken by one.
    worked = [{s["file"] for s in steps(log) if s["step"] == "committed"} for log in survivor_logs]
    assert all(worked)
    assert in_flight <= set().union(*worked)  # the dead daemon's files were taken over
    with unit_of_work(vault.app.factory) as session:
        renditions = [r.digest for r in session.execute(select(Rendition)).scalars() if r.digest]
        notes = [c for c in session.execute(select(Checkpoint.sealed_digest)).scalars() if c]
    sealed, access = vault.app.stores.sealed, vault.app.stores.access
    assert isinstance(sealed, FilesystemStore) and isinstance(access, FilesystemStore)
    # No orphan, no double: the recordings, and the checkpoints the daemons signed.
    assert sealed.iter_digests() == sorted({*digests.values(), *notes})
    assert access.iter_digests() == sorted([*digests.values(), *renditions])
    left = list((vault.station_dir).glob("CAM*/*.bin"))
    assert left == []
    result = run_cli(["verify"], env, vault.root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"OK {FILES} item(s)" in result.stdout
    print(
        f"victim had {len(in_flight)} file(s) in flight; survivors committed "
        f"{[len(w) for w in worked]}"
    )

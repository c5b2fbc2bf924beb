"""Invariant 1 under SIGKILL: no partial item, no lost file, no duplicate.

`evault ingest --once` runs as a real subprocess and is killed with SIGKILL, either at a
random moment or the instant it reports reaching a given pipeline step. New files keep
arriving, so every kill lands on work in progress. After every kill and at the end the
station, both stores and the database are checked against each other.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.conftest import Vault, put_clip, run_cli
from vault.stores.filesystem import FilesystemStore

RANDOM_KILLS = 24
STEPS = ["claimed", "sealed_written", "access_written", "verified", "committed", "acknowledged"]


class Station:
    def __init__(self, vault: Vault, clip_dir: Path, seed: int) -> None:
        self.vault = vault
        self.clip_dir = clip_dir
        self.rng = random.Random(seed)
        self.expected: dict[str, str] = {}  # digest -> name
        self.count = 0

    def add_files(self, n: int) -> None:
        for _ in range(n):
            self.count += 1
            path = self.vault.station_dir / f"CAM{self.count % 3}" / f"rec{self.count:03d}.mp4"
            if self.count % 4 == 0:
                put_clip(self.clip_dir, self.count // 4 % 4, path)
                with open(path, "ab") as handle:  # distinct bytes per file
                    handle.write(self.count.to_bytes(4, "big"))
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(self.rng.randbytes(self.rng.randint(1, 6) * 1024 * 1024))
            self.expected[hashlib.sha256(path.read_bytes()).hexdigest()] = path.name
            past = time.time() - 60  # already settled: the kill should hit ingest, not waiting
            os.utime(path, (past, past))


def on_station(vault: Vault) -> dict[str, Path]:
    found = {}
    for path in vault.station_dir.rglob("*"):
        if path.is_file():
            found[hashlib.sha256(path.read_bytes()).hexdigest()] = path
    return found


def check_invariant_1(vault: Vault, station: Station) -> None:
    with vault.app.engine.connect() as conn:
        items = {
            d: (i, s)
            for d, i, s in conn.execute(text("SELECT digest, id, size FROM evidence_item")).all()
        }
        ingested_counts = dict(
            conn.execute(
                text(
                    "SELECT item_id, count(*) FROM custody_event WHERE kind = 'ingested'"
                    " GROUP BY item_id"
                )
            ).all()
        )
        kinds_per_item: dict[object, set[str]] = {}
        for item_id, kind in conn.execute(text("SELECT item_id, kind FROM custody_event")):
            kinds_per_item.setdefault(item_id, set()).add(kind)
    present = on_station(vault)
    sealed, access = vault.app.stores.sealed, vault.app.stores.access
    assert isinstance(sealed, FilesystemStore) and isinstance(access, FilesystemStore)
    for digest, name in station.expected.items():
        in_vault = digest in items
        still_waiting = digest in present and "ingested" not in present[digest].parts
        # Nothing lost: every file is an item, or still in its original place on the station.
        assert in_vault or still_waiting, f"{name} is neither an item nor on the station"
        if digest in present and "ingested" in present[digest].parts:
            assert in_vault, f"{name} was acknowledged before it was an item"
    for digest, (item_id, size) in items.items():
        # No partial item: both copies present and exact, and the full first events.
        for store in (sealed, access):
            data = store.path_for(digest).read_bytes()
            assert hashlib.sha256(data).hexdigest() == digest and len(data) == size
        assert {"ingested", "sealed", "access_copy_stored"} <= kinds_per_item[item_id]
        assert ingested_counts[item_id] == 1  # no duplicate
    assert set(items) <= set(station.expected)


def kill_at_random(vault: Vault, delay: float) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli.main", "ingest", "--once"],
        env=vault.env(),
        cwd=vault.root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def kill_at_step(vault: Vault, step: str) -> bool:
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli.main", "ingest", "--once"],
        env=vault.env(),
        cwd=vault.root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    hit = False
    for line in proc.stderr:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if record.get("step") == step:
            proc.send_signal(signal.SIGKILL)
            hit = True
            break
    proc.wait(timeout=60)
    return hit


@pytest.mark.slow
def test_sigkill_at_random_points_and_at_every_step(vault: Vault, clip_dir: Path) -> None:
    seed = int(os.environ.get("CRASH_SEED", random.randrange(1 << 30)))
    print(f"crash test seed {seed} (set CRASH_SEED to replay)")
    station = Station(vault, clip_dir, seed)
    rng = random.Random(seed)
    killed_at_steps = []
    for step in STEPS:
        station.add_files(2)
        if kill_at_step(vault, step):
            killed_at_steps.append(step)
        check_invariant_1(vault, station)
    assert killed_at_steps == STEPS, f"some steps were never reached: {killed_at_steps}"
    for _ in range(RANDOM_KILLS):
        station.add_files(2)
        kill_at_random(vault, rng.uniform(0.3, 3.5))
        check_invariant_1(vault, station)

    finished = run_cli(["ingest", "--once"], vault.env(), vault.root)
    assert finished.returncode == 0, finished.stderr[-3000:]
    check_invariant_1(vault, station)
    items = {i.digest for i in vault.items()}
    assert items == set(station.expected), "every file ends up as exactly one item"
    waiting = [p for p in on_station(vault).values() if "ingested" not in p.parts]
    assert waiting == []
    sealed, access = vault.app.stores.sealed, vault.app.stores.access
    assert isinstance(sealed, FilesystemStore) and isinstance(access, FilesystemStore)
    # No orphan objects and no temp files: every retry converged on the same objects.
    assert set(sealed.iter_digests()) == items == set(access.iter_digests())
    assert list((sealed.root / "tmp").iterdir()) == list((access.root / "tmp").iterdir()) == []
    verified = run_cli(["verify"], vault.env(), vault.root)
    assert verified.returncode == 0, verified.stdout

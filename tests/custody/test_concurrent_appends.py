"""Eight processes append to the custody log at once: one shared item, one item each.

Checks what the log-head lock promises (DESIGN.md, custody log format): seq has no gap and no
duplicate, no chain forks (every entry's prev_hash is the entry before it in that item's chain),
no committed append is lost, and `evault verify` passes."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

from sqlalchemy import text

from tests.conftest import REPO, Vault, run_cli

WORKERS = 8
SECONDS = 4


def test_eight_processes_appending_keep_every_chain_whole(vault: Vault, clip_dir: Path) -> None:
    for n in range(4):
        (vault.station_dir / "D").mkdir(exist_ok=True)
        (vault.station_dir / "D" / f"f{n}.bin").write_bytes(f"recording {n}".encode() * 100)
    vault.ingest()
    items = [str(item.id) for item in vault.items()]
    assert len(items) == 4
    shared, own = items[0], items[1:]
    env = vault.env()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.custody.append_worker",
                vault.settings.database,
                str(SECONDS),
                f"w{w}",
                shared,
                own[w % len(own)],
            ],
            env=env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(WORKERS)
    ]
    committed = 0
    for proc in procs:
        out, errors = proc.communicate(timeout=120)
        assert proc.returncode == 0, errors
        committed += int(out.strip())
    assert committed > WORKERS  # they really ran concurrently, more than once each

    with vault.app.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT seq, item_id, prev_hash, entry_hash FROM custody_event ORDER BY seq")
        ).all()
        last_seq = conn.execute(text("SELECT last_seq FROM log_head")).scalar_one()
    seqs = [row[0] for row in rows]
    assert seqs == list(range(1, len(rows) + 1)) and last_seq == len(rows)  # gapless
    appended = Counter(row[1] for row in rows)
    assert sum(appended.values()) == 4 * 4 + committed  # 4 ingest events per item, none lost
    previous: dict[object, bytes] = {}
    for _, item, prev_hash, entry_hash in rows:
        assert bytes(prev_hash) == previous.get(item, bytes(32)), "a chain forked"
        previous[item] = bytes(entry_hash)

    result = run_cli(["verify"], env, vault.root)
    assert result.returncode == 0, result.stdout + result.stderr
    print(f"{committed} appends by {WORKERS} processes in {SECONDS}s; verify: OK")

"""How long `evault` takes to start, against the interpreter's own start, in one run.

    python bench/cli.py [--runs 10] [--dir PATH]

Makes a fresh embedded vault (SQLite + filesystem stores) in a temporary directory, then times
R runs of each: `python -c pass` (the floor), `evault --help`, `evault list`, `evault show
--help` and `evault --version`, each a new process as a person at a terminal starts it. Prints
the median and best wall time of each and its distance from the floor (the issue's target:
`--help` and `list` within 0.3 s of it).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EVAULT = [sys.executable, "-m", "api.cli.main"]
REPO = Path(__file__).resolve().parent.parent


def timed(command: list[str], cwd: Path, runs: int) -> list[float]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, check=False)
        seconds.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed: {done.stderr.decode()[-400:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--dir", type=Path, default=None, help="work here (default: a temp dir)")
    args = parser.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="evault-bench-cli-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        timed([*EVAULT, "init"], work, 1)
        cases = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "evault --help": [*EVAULT, "--help"],
            "evault --version": [*EVAULT, "--version"],
            "evault show --help": [*EVAULT, "show", "--help"],
            "evault list": [*EVAULT, "list"],
        }
        floor = statistics.median(timed(cases["python -c pass"], work, args.runs))
        print(f"{'command':<22} {'median':>8} {'best':>8} {'over floor':>11} {'ratio':>7}")
        for name, command in cases.items():
            seconds = timed(command, work, args.runs)
            median = statistics.median(seconds)
            print(
                f"{name:<22} {median:>7.3f}s {min(seconds):>7.3f}s"
                f" {median - floor:>+10.3f}s {median / floor:>7.1f}"
            )
    finally:
        if args.dir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

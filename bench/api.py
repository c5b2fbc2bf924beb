"""HTTP API latency against FastAPI's own floor, in one run.

    python bench/api.py [--items 10000] [--clients 50] [--seconds 30] [--workers N] [--dir PATH]

Fills a fresh embedded vault (SQLite) with N items, each with its three ingest custody events,
serves it with `evault serve --workers N` (default: one per core), and runs C concurrent
clients for S seconds four times: on item metadata and custody timelines (random items), on
two ordinary routes (an item's retention and its copies: each authenticates its caller in
its own unit of work, in the one worker call a route makes), on /health, and on a bare
FastAPI route served the same way (bench/bare_app.py: the framework's floor, no
authentication, no database). Prints p50/p99 latency and requests/s of each and the ratios
the performance issue names: /health at least 0.6 of the floor's throughput, items +
custody at least 0.8 of /health's. Target: p99 < 50 ms on SQLite. The load comes from wrk
(`apt-get install wrk`), which uses a few percent of a core; the server still shares this
machine's cores with it.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from api.context import open_context  # noqa: E402
from config.settings import Settings  # noqa: E402
from custody.log.append import append_event  # noqa: E402
from custody.log.kinds import EventKind  # noqa: E402
from vault import accounts  # noqa: E402
from vault.db import unit_of_work, utcnow  # noqa: E402
from vault.models import EvidenceItem, ItemStatus, MediaStatus, Station  # noqa: E402

BATCH = 500


def fill(data_dir: Path, count: int) -> tuple[list[str], str]:
    """N items with ingested/sealed/access_copy_stored events; returns ids and a token."""
    context = open_context(Settings(data_dir=data_dir), migrate=True)
    ids: list[str] = []
    with unit_of_work(context.factory) as session:
        station = Station(name="bench", kind="local", location="")
        session.add(station)
        accounts.add_user(session, username="bench", roles=["auditor"])
        token = accounts.issue_token(session, username="bench").secret
    now = utcnow()
    for start in range(0, count, BATCH):
        with unit_of_work(context.factory) as session:
            for n in range(start, min(start + BATCH, count)):
                digest = hashlib.sha256(f"item {n}".encode()).hexdigest()
                item = EvidenceItem(
                    id=uuid.uuid4(), digest=digest, size=1_000_000 + n,
                    media_type="video/mp4", original_name=f"CAM{n % 50}_{n}.mp4",
                    original_name_raw=f"CAM{n % 50}_{n}.mp4".encode(), station_id=station.id,
                    officer=f"P{n % 200}", docked_at=now, ingested_at=now - timedelta(seconds=n),
                    media_status=MediaStatus.PROBED, sealed_locator="bench",
                    access_locator="bench", status=ItemStatus.PRESERVED,
                )  # fmt: skip
                session.add(item)
                session.flush()
                for kind in (EventKind.INGESTED, EventKind.SEALED, EventKind.ACCESS_COPY_STORED):
                    append_event(
                        session, item_id=item.id, kind=kind, actor="bench",
                        data={"digest": digest}, at=now,
                    )  # fmt: skip
                ids.append(str(item.id))
    context.engine.dispose()
    return ids, token


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def bare_served(work: Path, workers: int) -> Iterator[str]:
    """bench/bare_app.py under uvicorn with the vault's worker count; yields its base URL."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench.bare_app:app", "--port", str(port),
         "--workers", str(workers), "--log-level", "warning", "--no-access-log"],
        env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=work,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    with answering(server, f"http://127.0.0.1:{port}", "/bare", {}) as base:
        yield base


@contextlib.contextmanager
def served(work: Path, token: str, workers: int) -> Iterator[str]:
    """`evault serve --workers N` on the vault under ``work``; yields its base URL once it
    answers, and stops it after."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVAULT_")}
    env |= {"EVAULT_DATA_DIR": str(work / "data"), "EVAULT_LOG_LEVEL": "WARNING",
            "EVAULT_API_PORT": str(port), "EVAULT_API_WORKERS": str(workers),
            "PYTHONPATH": str(REPO)}  # fmt: skip
    server = subprocess.Popen(
        [sys.executable, "-m", "api.cli.main", "serve"], env=env, cwd=work,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    headers = {"Authorization": f"Bearer {token}"}
    with answering(server, f"http://127.0.0.1:{port}", "/health", headers) as base:
        yield base


@contextlib.contextmanager
def answering(
    server: subprocess.Popen[bytes], base: str, path: str, headers: dict[str, str]
) -> Iterator[str]:
    """``base`` once ``path`` answers (up to 20 s); the server is stopped after."""
    try:
        for _ in range(100):
            try:
                httpx.get(f"{base}{path}", headers=headers)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        yield base
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)


WRK_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"p50_us": %d, "p99_us": %d, "requests": %d, "errors": %d}\\n',
    latency:percentile(50), latency:percentile(99), summary.requests,
    e.connect + e.read + e.write + e.timeout + e.status))
end
"""


def load(
    base: str,
    token: str,
    paths: list[str],
    *,
    clients: int,
    seconds: float,
    work: Path,
    header: str | None = None,
) -> dict[str, float]:
    """wrk (C, event-driven) drives the load: a Python client would take the cores it measures.
    Each request carries the token, or ``header`` instead (a console's session cookie)."""
    script = work / "paths.lua"
    listed = ",".join(json.dumps(p) for p in paths)
    script.write_text(
        f"local paths = {{{listed}}}\nmath.randomseed(1)\n"
        "request = function() return wrk.format('GET', paths[math.random(#paths)]) end\n"
        + WRK_REPORT
    )
    run = subprocess.run(
        ["wrk", "-t2", f"-c{clients}", f"-d{seconds:.0f}s", "--timeout", "30s",
         "-H", header or f"Authorization: Bearer {token}", "-s", str(script), base],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    report: dict[str, float] = json.loads(run.stdout.strip().splitlines()[-1])
    if report["errors"]:
        raise SystemExit(f"{report['errors']} failed or non-2xx answers:\n{run.stdout}")
    return report


def summary(label: str, report: dict[str, float], seconds: float) -> tuple[float, float, float]:
    p50, p99 = report["p50_us"] / 1000, report["p99_us"] / 1000
    rate = report["requests"] / seconds
    shown = f"p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  {rate:8.1f} req/s  n={report['requests']:.0f}"
    print(f"{label:<22} {shown}")
    return p50, p99, rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("bench/api.py needs wrk: apt-get install wrk")
    work = Path(tempfile.mkdtemp(prefix="evault-bench-api-", dir=args.dir))
    try:
        started = time.perf_counter()
        ids, token = fill(work / "data", args.items)
        print(f"filled {args.items} items in {time.perf_counter() - started:.1f} s")
        with served(work, token, args.workers) as base:
            work_paths = [p for i in ids for p in (f"/items/{i}", f"/items/{i}/custody")]
            ours = load(
                base, token, work_paths, clients=args.clients, seconds=args.seconds, work=work
            )
            other_paths = [p for i in ids for p in (f"/items/{i}/retention", f"/items/{i}/copies")]
            other = load(
                base, token, other_paths, clients=args.clients, seconds=args.seconds, work=work
            )
            health = load(
                base, token, ["/health"], clients=args.clients, seconds=args.seconds, work=work
            )
        with bare_served(work, args.workers) as base:
            bare = load(
                base, token, ["/bare"], clients=args.clients, seconds=args.seconds, work=work
            )
        print(f"{args.clients} clients, {args.seconds:.0f} s each, SQLite, {args.items} items,"
              f" {args.workers} API worker process(es), {os.cpu_count()} cores")  # fmt: skip
        _, p99, rate = summary("items + custody", ours, args.seconds)
        _, other_p99, other_rate = summary("retention + copies", other, args.seconds)
        _, health_p99, health_rate = summary("/health", health, args.seconds)
        _, bare_p99, bare_rate = summary("bare route (floor)", bare, args.seconds)
        print(f"req/s /health / floor: {health_rate / bare_rate:.2f} (target >= 0.6);"
              f" items+custody / /health: {rate / health_rate:.2f} (target >= 0.8);"
              f" p99 items+custody {p99:.1f} ms (target < 50 ms);"
              f" retention+copies / /health: {other_rate / health_rate:.2f}")  # fmt: skip
        print(json.dumps({"p99_ms": round(p99, 1), "health_p99_ms": round(health_p99, 1),
                          "bare_p99_ms": round(bare_p99, 1), "rps": round(rate, 1),
                          "health_rps": round(health_rate, 1),
                          "other_p99_ms": round(other_p99, 1), "other_rps": round(other_rate, 1),
                          "bare_rps": round(bare_rate, 1)}))  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

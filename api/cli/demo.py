"""`evault demo`: a docking station a newcomer can watch being ingested."""

from __future__ import annotations

import secrets
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from vault.db import SessionFactory

# A slow copy, run as its own process so the daemon sees a file that is still growing.
SLOW_WRITER = """
import sys, time
src, dst, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
data = open(src, 'rb').read()
steps = 20
with open(dst, 'wb') as out:
    for i in range(steps):
        out.write(data[i * len(data) // steps:(i + 1) * len(data) // steps])
        out.flush()
        time.sleep(seconds / steps)
"""


def demo_config(station_dir: Path) -> str:
    return (
        "# Written by `evault demo`. Add your own stations as more [[stations]] tables.\n"
        "[[stations]]\n"
        'name = "demo-station"\n'
        f'path = "{station_dir.as_posix()}"\n'
        'location = "Demo docking station (generated clips)"\n'
        'acknowledge = "move"\n'
    )


def build_demo_station(station_dir: Path, *, clips: int, slow_seconds: float) -> list[str]:
    """Fill the station with clips; returns a line per file for the user."""
    from vault.db import utcnow
    from vault.synthetic import generate_clip

    now = utcnow()
    made = []
    for n in range(clips):
        device = f"DEV00{1 + n % 2}"
        officer = f"P10{n % 3 + 1:02d}"
        # Cameras name files in local wall-clock time (the convention's device_timezone).
        started = (now - timedelta(minutes=30 + 7 * n)).astimezone(ZoneInfo("Asia/Shanghai"))
        name = f"{device}_{officer}_{started.strftime('%Y%m%dT%H%M%S')}.mp4"
        generate_clip(
            station_dir / device / name,
            seconds=3,
            frequency=300 + 40 * n,
            label=f"{device} {officer} #{n}",
        )
        made.append(f"{device}/{name}: a 3-second clip")
    sidecar_clip = station_dir / "DEV001" / "DEV001_P1001_incident.mp4"
    generate_clip(sidecar_clip, seconds=2, frequency=900, label="with sidecar")
    (station_dir / "DEV001" / "DEV001_P1001_incident.mp4.json").write_text(
        '{"officer": "P1001", "location": "No. 1 Demo Road",'
        ' "matter": "traffic stop (demo)", "counterparty": "driver (demo)"}\n',
        encoding="utf-8",
    )
    made.append("DEV001/DEV001_P1001_incident.mp4: a clip with sidecar metadata")
    (station_dir / "DEV002").mkdir(parents=True, exist_ok=True)
    (station_dir / "DEV002" / "DEV002_P1002_20261124T080000.mp4").write_bytes(
        b"this camera wrote garbage, not video\n" * 100
    )
    made.append("DEV002/DEV002_P1002_20261124T080000.mp4: not a video (kept all the same)")
    _start_slow_writer(station_dir / "DEV002" / "DEV002_P1003_growing.mp4", slow_seconds)
    made.append(f"DEV002/DEV002_P1003_growing.mp4: still being written for {slow_seconds:.0f}s")
    return made


def _start_slow_writer(target: Path, seconds: float) -> None:
    from vault.synthetic import generate_clip

    source = Path(tempfile.mkdtemp(prefix="evault-demo-")) / "growing.mp4"
    generate_clip(source, seconds=4, frequency=1200, label="arrived slowly")
    subprocess.Popen(
        [sys.executable, "-c", SLOW_WRITER, str(source), str(target), str(seconds)],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


DEMO_PEOPLE = (("demo-custodian", "custodian"), ("demo-investigator", "investigator"),
               ("demo-approver", "approver"))  # fmt: skip


def demo_people(factory: SessionFactory, passwords_file: Path) -> list[str]:
    """Console users for the demo, each with a new random password, written (readable by this
    account only) to ``passwords_file``; users that exist are left as they are."""
    from sqlalchemy import select

    from custody.admin import acts
    from vault.db import unit_of_work
    from vault.models import User

    made = []
    with unit_of_work(factory) as session:
        for username, role in DEMO_PEOPLE:
            if session.execute(select(User).where(User.username == username)).first():
                continue
            password = secrets.token_urlsafe(12)
            acts.add_user(session, actor="cli:demo", username=username, roles=[role])
            acts.set_password(session, actor="cli:demo", username=username, password=password)
            made.append(f"{username} ({role}): {password}")
    if made:
        passwords_file.touch(mode=0o600)
        with open(passwords_file, "a", encoding="utf-8") as out:
            out.write("".join(f"{line}\n" for line in made))
    return made

"""Recording gaps: the pure rule, table-driven, and the whole path on real ingested clips
with station sidecars giving their times: listed, explained through the CLI into both
clips' custody chains, never rewritten."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from custody.log.models import CustodyEvent
from ingest.gap_service import explain_gap, list_gaps
from ingest.gaps import Clip, GapCause, find_gaps
from tests.conftest import Vault, put_clip, run_cli
from vault import accounts
from vault.db import unit_of_work
from vault.errors import Conflict, InputRejected
from vault.models import User
from vault.moments import for_people

T0 = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
WINDOW, THRESHOLD = timedelta(minutes=30), timedelta(seconds=10)


def clip(device: str, start_s: float, end_s: float) -> Clip:
    return Clip(
        uuid.uuid4(), device, T0 + timedelta(seconds=start_s), T0 + timedelta(seconds=end_s)
    )


@pytest.mark.parametrize(
    ("clips", "expected"),
    [
        ([("A", 0, 60), ("A", 65, 120)], []),  # 5 s: within the threshold
        ([("A", 0, 60), ("A", 70, 120)], []),  # exactly the threshold: not longer
        ([("A", 0, 60), ("A", 71, 120)], [11]),
        ([("A", 0, 60), ("A", 60 + 1800, 2000)], [1800]),  # exactly the window: same incident
        ([("A", 0, 60), ("A", 60 + 1801, 2000)], []),  # beyond it: a new incident
        ([("A", 0, 60), ("B", 120, 180)], []),  # another device
        ([("A", 200, 260), ("A", 0, 60), ("A", 100, 150)], [40, 50]),  # sorted first
        ([("A", 0, 60), ("A", 30, 90)], []),  # overlapping clips
    ],
)
def test_gap_rule(clips: list[tuple[str, float, float]], expected: list[int]) -> None:
    found = find_gaps([clip(*c) for c in clips], window=WINDOW, threshold=THRESHOLD)
    assert [int(g.length.total_seconds()) for g in found] == expected


def dock(vault: Vault, clip_dir: Path, n: int, device: str, start_s: int, end_s: int) -> None:
    target = put_clip(clip_dir, n, vault.station_dir / device / f"clip{n}.mp4")
    sidecar = {
        "device": device,
        "recorded_start": (T0 + timedelta(seconds=start_s)).isoformat(),
        "recorded_end": (T0 + timedelta(seconds=end_s)).isoformat(),
    }
    target.with_name(f"clip{n}.mp4.json").write_text(json.dumps(sidecar))


def test_gaps_in_ingested_clips_are_listed_and_explained(vault: Vault, clip_dir: Path) -> None:
    dock(vault, clip_dir, 0, "CAM1", 0, 60)
    dock(vault, clip_dir, 1, "CAM1", 65, 120)
    dock(vault, clip_dir, 2, "CAM1", 180, 240)  # 60 s after the last: a gap
    dock(vault, clip_dir, 3, "CAM1", 3 * 3600, 3 * 3600 + 60)  # hours later: new incident
    vault.ingest()
    by_name = {i.original_name: i for i in vault.items()}
    with unit_of_work(vault.app.factory) as session:
        (found,) = list_gaps(session, vault.settings)
    assert (found.gap.before, found.gap.after) == (by_name["clip1.mp4"].id, by_name["clip2.mp4"].id)
    assert found.gap.length == timedelta(seconds=60) and found.explanation is None

    with unit_of_work(vault.app.factory) as session:
        accounts.add_user(session, username="wu", roles=["custodian"])
        token = accounts.issue_token(session, username="wu").secret
    env = vault.env() | {"EVAULT_TOKEN": token}
    listed = run_cli(["gaps"], env, vault.root)
    assert listed.returncode == 0 and "UNEXPLAINED" in listed.stdout
    # Instants in the one form for people, as `show` prints them (issue 22).
    zone = vault.settings.display_timezone
    assert for_people(by_name["clip1.mp4"].recorded_end, zone) in listed.stdout, listed.stdout
    before, after = by_name["clip1.mp4"].digest[:12], by_name["clip2.mp4"].digest[:12]
    done = run_cli(
        [
            "gaps",
            "explain",
            before,
            after,
            "--cause",
            "low_battery",
            "-m",
            "battery ran out; spare fitted",
        ],
        env,
        vault.root,
    )
    assert done.returncode == 0, done.stderr
    assert "UNEXPLAINED" not in run_cli(["gaps"], env, vault.root).stdout
    assert "low_battery" in run_cli(["gaps", "--all"], env, vault.root).stdout

    with unit_of_work(vault.app.factory) as session:
        explained = list(
            session.execute(
                select(CustodyEvent).where(CustodyEvent.kind == "gap_explained")
            ).scalars()
        )
        assert {e.item_id for e in explained} == {by_name["clip1.mp4"].id, by_name["clip2.mp4"].id}
        assert all(e.data["cause"] == "low_battery" and e.data["seconds"] == 60 for e in explained)
        assert all(e.actor == "user:wu" for e in explained)
        wu = session.execute(select(User).where(User.username == "wu")).scalar_one()
        with pytest.raises(Conflict, match="explanations are not rewritten"):
            explain_gap(
                session,
                vault.settings,
                before=before,
                after=after,
                cause=GapCause.WEATHER,
                text="",
                user=wu,
            )
        first = by_name["clip0.mp4"].digest[:12]
        with pytest.raises(InputRejected, match="there is no recording gap"):
            explain_gap(
                session,
                vault.settings,
                before=first,
                after=before,
                cause=GapCause.WEATHER,
                text="",
                user=wu,
            )
        with pytest.raises(InputRejected, match="needs its explanation in words"):
            explain_gap(
                session,
                vault.settings,
                before=before,
                after=after,
                cause=GapCause.OTHER,
                text=" ",
                user=wu,
            )

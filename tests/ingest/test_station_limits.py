"""Per-station limits: at most N files copied from a station at once (all workers, and on
PostgreSQL all processes), and at most R bytes per second from it."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from config.settings import Settings
from ingest.claims import claim_next
from ingest.models import FileState, StationFile
from ingest.runner import run_once, scan_all
from ingest.throttle import Throttle
from tests.conftest import Vault, make_vault, put_clip
from tests.ftpserver import ftp_server
from tests.ingest.test_network_stations import station_vault
from vault.db import unit_of_work, utcnow
from vault.models import Station

MiB = 1024 * 1024


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_the_bucket_allows_a_burst_then_holds_to_the_rate() -> None:
    t = FakeTime()
    throttle = Throttle(1000, clock=t.clock, sleep=t.sleep)
    assert throttle.take(1000) == 0  # one second's worth at once
    assert throttle.take(500) == pytest.approx(0.5)
    assert throttle.take(500) == pytest.approx(0.5)
    t.now += 10  # idle: the bucket refills, but only to its capacity
    assert throttle.take(1000) == 0
    assert throttle.take(2000) == pytest.approx(2.0)
    # Over the whole run: bytes beyond the first burst went at exactly the rate.
    assert throttle.waited == pytest.approx(3.0)
    assert t.now == pytest.approx(13.0)


def test_concurrent_takers_share_the_rate() -> None:
    """Two transfers at once each get half: their reservations queue as debt."""
    t = FakeTime()
    throttle = Throttle(1000, burst=0.001, clock=t.clock, sleep=t.slept.append)
    first, second = throttle.take(1000), throttle.take(1000)
    assert (first, second) == (pytest.approx(1.0, abs=1e-5), pytest.approx(2.0, abs=1e-5))


def test_a_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="must be positive"):
        Throttle(0)


def _limited_vault(root: Path, clip_dir: Path) -> tuple[Vault, dict[str, object]]:
    v = make_vault(root, stations=2)
    for n in range(3):
        put_clip(clip_dir, n, v.station_dir / "CAM1" / f"clip{n}.mp4")
    put_clip(clip_dir, 3, v.root / "station1" / "CAM2" / "other.mp4")
    scan_all(v.ingest_context())
    scan_all(v.ingest_context())  # twice: stable
    with unit_of_work(v.app.factory) as session:
        ids = dict(session.execute(select(Station.name, Station.id)).all())
    return v, ids


def test_a_station_at_its_limit_gets_no_new_claim_until_a_transfer_ends(
    isolated_env: Path, clip_dir: Path
) -> None:
    v, ids = _limited_vault(isolated_env, clip_dir)
    limits = {ids["station0"]: 1}
    factory = v.app.factory

    # Worker A claims a file of station0 and has not committed yet; worker B claims at the
    # same moment. B must not start a second station0 transfer: on SQLite its BEGIN waits
    # for A's commit; on PostgreSQL the station's advisory lock does (without it, B would
    # skip A's locked row and take the next file: this test fails that way).
    a = factory()
    a.connection()  # BEGIN (IMMEDIATE on SQLite)
    first = claim_next(a, worker="A", now=utcnow(), station_limits=limits)
    assert first is not None and first.station_id == ids["station0"]
    got: list[tuple[object, str] | None] = []

    def worker_b() -> None:
        with unit_of_work(factory) as b:
            row = claim_next(b, worker="B", now=utcnow(), station_limits=limits)
            got.append(None if row is None else (row.station_id, row.rel_path))

    thread = threading.Thread(target=worker_b)
    thread.start()
    time.sleep(0.5)  # let B reach its claim while A's is uncommitted
    a.commit()
    a.close()
    thread.join(timeout=60)
    assert got == [(ids["station1"], "CAM2/other.mp4")]  # the other station is not held up

    with unit_of_work(factory) as session:  # still one under way at station0: nothing more
        assert claim_next(session, worker="C", now=utcnow(), station_limits=limits) is None
        done = session.get(StationFile, first.id)
        assert done is not None
        done.state = FileState.WAITING  # the transfer ended (released)
        done.claimed_by = None
    with unit_of_work(factory) as session:
        again = claim_next(session, worker="C", now=utcnow(), station_limits=limits)
        assert again is not None and again.station_id == ids["station0"]
    v.app.engine.dispose()


@pytest.mark.parametrize("limit", [1, None])
def test_the_ftp_station_sees_at_most_the_limit_at_once(
    isolated_env: Path, clip_dir: Path, limit: int | None
) -> None:
    """Three workers, three files on a station serving 1 MiB/s: with a limit of one the
    station never sends two files at once, and every file is still ingested; without it,
    the same run does overlap (so the observation can see a breach)."""
    root = isolated_env / "station"
    with ftp_server(root, bytes_per_second=MiB) as server:
        for n in range(3):
            path = put_clip(clip_dir, n, root / "CAM1" / f"clip{n}.mp4")
            with open(path, "ab") as grow:  # seconds each at the station's pace
                grow.write(bytes(3 * MiB))
        v = station_vault(isolated_env, server, max_concurrent_transfers=limit)
        run_once(v.ingest_context(), workers=3)
        assert len(v.items()) == 3
        if limit is None:
            assert server.peak_sending >= 2
        else:
            assert server.peak_sending == 1
        v.app.engine.dispose()


@pytest.mark.one_database  # the token bucket is per process, not in the database
def test_a_bandwidth_limit_holds_a_real_transfer_back(isolated_env: Path) -> None:
    root = isolated_env / "station"
    with ftp_server(root) as server:
        (root / "CAM1").mkdir(parents=True)
        (root / "CAM1" / "big.bin").write_bytes(bytes(range(256)) * (3 * MiB // 256))
        v = station_vault(isolated_env, server, max_bytes_per_second=MiB)
        ctx = v.ingest_context()
        run_once(ctx, workers=1)
        (item,) = v.items()
        assert item.size == 3 * MiB
        (throttle,) = ctx.throttles.values()
        # 3 MiB at 1 MiB/s with a 1 MiB burst: about two seconds held back, whatever the
        # loopback's own speed.
        assert throttle.waited >= 1.5, throttle.waited
        v.app.engine.dispose()


def test_limits_are_settings_of_the_station() -> None:
    with pytest.raises(ValueError, match="greater than or equal to 65536"):
        Settings.model_validate({"stations": [{"name": "s", "path": "/x",
                                               "max_bytes_per_second": 10}]})  # fmt: skip
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        Settings.model_validate({"stations": [{"name": "s", "path": "/x",
                                               "max_concurrent_transfers": 0}]})  # fmt: skip

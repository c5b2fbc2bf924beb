"""Ingest end to end on real SQLite, real files and real ffmpeg clips."""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import shutil
import stat
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from custody.log.models import CustodyEvent
from ingest.models import FileState, StationFile
from ingest.pipeline import ingest_next
from ingest.runner import run_once, scan_all
from ingest.stability import Seen, is_stable
from ingest.stations.base import Listing, StationUnavailable
from ingest.stations.local_dir import LocalDirectoryStation
from tests.conftest import Vault, make_vault, put_clip
from vault.db import unit_of_work, utcnow
from vault.models import MediaStatus, Station
from vault.stores.filesystem import FilesystemStore


def events(vault: Vault) -> list[CustodyEvent]:
    with unit_of_work(vault.app.factory) as session:
        return list(session.execute(select(CustodyEvent).order_by(CustodyEvent.seq)).scalars())


def station_files(vault: Vault) -> list[StationFile]:
    with unit_of_work(vault.app.factory) as session:
        return list(session.execute(select(StationFile)).scalars())


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_clip_becomes_item_with_two_verified_copies_and_a_chain(
    vault: Vault,
    clip_dir: Path,
) -> None:
    source = put_clip(clip_dir, 0, vault.station_dir / "CAM7" / "CAM7_P2001_20261124T093000.mp4")
    digest = sha256(source)
    vault.ingest()
    [item] = vault.items()
    assert item.size == (clip_dir / "clip0.mp4").stat().st_size
    assert item.digest == digest
    assert item.media_status == MediaStatus.PROBED and item.media_type == "video/mp4"
    assert item.duration_ms is not None and 900 <= item.duration_ms <= 1100
    assert item.officer == "P2001"
    assert item.recorded_start is not None
    assert item.recorded_start.isoformat() == "2026-11-24T01:30:00+00:00"  # 09:30 Shanghai
    for store in (vault.app.stores.sealed, vault.app.stores.access):
        with store.open(digest) as stream:
            assert hashlib.sha256(stream.read()).hexdigest() == digest
    assert vault.app.settings.sealed_store_spec != vault.app.settings.access_store_spec
    kinds = [e.kind for e in events(vault)]
    assert kinds == ["ingested", "sealed", "access_copy_stored", "retention_set"]
    ingested = events(vault)[0].data
    assert ingested["station"] == "station0" and ingested["device"] == "CAM7"
    assert ingested["docked_at"] <= ingested["ingested_at"]
    # Acknowledged only after the commit: moved out of the device folder, not destroyed.
    assert not source.exists()
    assert sha256(vault.station_dir / "ingested" / "CAM7" / source.name) == digest


def test_same_bytes_again_is_a_custody_event_not_a_second_item(
    isolated_env: Path, clip_dir: Path
) -> None:
    vault = make_vault(isolated_env, stations=2)
    put_clip(clip_dir, 1, vault.station_dir / "A" / "first.mp4")
    vault.ingest()
    other_station = isolated_env / "station1"
    put_clip(clip_dir, 1, other_station / "B" / "redocked-copy.mp4")
    put_clip(clip_dir, 1, vault.station_dir / "A" / "first.mp4")  # re-dock, same station
    vault.ingest()
    [item] = vault.items()
    kinds = [e.kind for e in events(vault)]
    assert kinds.count("ingested") == 1
    assert kinds.count("received_again") == 2
    assert {e.data["station"] for e in events(vault) if e.kind == "received_again"} == {
        "station0",
        "station1",
    }
    assert item.original_name == "first.mp4"


def test_run_again_with_nothing_new_changes_nothing(vault: Vault, clip_dir: Path) -> None:
    put_clip(clip_dir, 0, vault.station_dir / "A" / "a.mp4")
    vault.ingest()
    before = [e.seq for e in events(vault)]
    vault.ingest()
    assert [e.seq for e in events(vault)] == before


def test_awkward_names_are_kept_exactly_and_shown_safely(vault: Vault, clip_dir: Path) -> None:
    names = [
        b"..evil.mp4",
        b"a..b.mp4",
        "执法记录仪 视频.mp4".encode(),
        b"bad\nname\t\x1b[31m.mp4",
        b"\xff\xferaw.mp4",
    ]
    device = vault.station_dir / "D1"
    device.mkdir()
    for n, name in enumerate(names):
        shutil.copyfile(clip_dir / f"clip{n % 4}.mp4", os.path.join(os.fsencode(device), name))
    # Distinct bytes for every name (clip0 is used twice otherwise).
    with open(os.path.join(os.fsencode(device), names[4]), "ab") as handle:
        handle.write(b"\0")
    vault.ingest()
    items = vault.items()
    assert sorted(bytes(i.original_name_raw) for i in items) == sorted(names)
    shown = {i.original_name for i in items}
    assert "执法记录仪 视频.mp4" in shown
    assert "bad\\nname\\t\\x1b[31m.mp4" in shown
    assert "\\xff\\xferaw.mp4" in shown
    assert all("\n" not in s and "\x1b" not in s for s in shown)
    # Nothing escaped the station root on acknowledgement.
    assert sorted(os.listdir(os.fsencode(vault.station_dir / "ingested" / "D1"))) == sorted(names)


def test_zero_byte_file_is_rejected_clearly_and_left_in_place(vault: Vault) -> None:
    empty = vault.station_dir / "D1" / "empty.mp4"
    empty.parent.mkdir()
    empty.touch()
    vault.ingest()
    assert vault.items() == []
    [row] = station_files(vault)
    assert row.state == FileState.REJECTED and "zero-byte" in (row.last_error or "")
    assert empty.exists()


def test_truncated_mp4_and_non_video_are_sealed_and_kept(vault: Vault, clip_dir: Path) -> None:
    whole = (clip_dir / "clip2.mp4").read_bytes()
    device = vault.station_dir / "D1"
    device.mkdir()
    (device / "truncated.mp4").write_bytes(whole[: len(whole) // 3])
    (device / "notes.mp4").write_bytes(b"not a video at all\n" * 50)
    vault.ingest()
    items = {i.original_name: i for i in vault.items()}
    assert set(items) == {"truncated.mp4", "notes.mp4"}
    for item in items.values():
        assert item.media_status == MediaStatus.UNREADABLE
        assert item.probe_error and "ffmpeg cannot read" in item.probe_error
        assert vault.app.stores.sealed.exists(item.digest)
        assert vault.app.stores.access.exists(item.digest)
    assert [e.kind for e in events(vault)].count("ingested") == 2


def test_sidecar_fills_description_and_a_malformed_one_loses_nothing(
    vault: Vault, clip_dir: Path
) -> None:
    device = vault.station_dir / "D9"
    good = put_clip(clip_dir, 0, device / "good.mp4")
    good.with_name("good.mp4.json").write_text(
        '{"officer": "P77", "device": "SN-123", "location": "Gate 3",'
        ' "recorded_start": "2026-11-20T10:00:00+08:00", "interruption": "battery"}'
    )
    put_clip(clip_dir, 1, device / "bad.mp4")
    (device / "bad.json").write_text("{not json")
    vault.ingest()
    items = {i.original_name: i for i in vault.items()}
    assert set(items) == {"good.mp4", "bad.mp4"}  # sidecars are not items of their own
    good_item = items["good.mp4"]
    assert good_item.officer == "P77" and good_item.device and good_item.device.serial == "SN-123"
    assert good_item.station_metadata and good_item.station_metadata["location"] == "Gate 3"
    assert good_item.recorded_start and good_item.recorded_start.isoformat().startswith(
        "2026-11-20T02:00:00"
    )
    bad_event = next(
        e for e in events(vault) if e.kind == "ingested" and e.item_id == items["bad.mp4"].id
    )
    assert "not valid UTF-8 JSON" in bad_event.data["sidecar"]["problem"]
    # Sidecars travel with their recording on acknowledgement.
    assert (vault.station_dir / "ingested" / "D9" / "bad.json").exists()


def test_growing_and_temporary_files_wait(isolated_env: Path, clip_dir: Path) -> None:
    vault = make_vault(isolated_env, settle_seconds=30)
    device = vault.station_dir / "D1"
    put_clip(clip_dir, 0, device / "recording.mp4.part")
    put_clip(clip_dir, 1, device / "fresh.mp4")
    ctx = vault.ingest_context()
    scan_all(ctx)
    scan_all(ctx)
    assert not ingest_next(ctx)  # fresh.mp4 is younger than the settle time
    assert vault.items() == []
    rows = station_files(vault)
    by_name = {r.rel_path: r for r in rows}
    assert set(by_name) == {"D1/fresh.mp4", "D1/recording.mp4.part"}
    assert "temporary name" in (by_name["D1/recording.mp4.part"].last_error or "")
    assert not by_name["D1/recording.mp4.part"].stable
    # Renamed when the writer finishes: the temp row goes, the final name is ingested.
    os.rename(device / "recording.mp4.part", device / "recording.mp4")
    scan_all(ctx)
    assert {r.rel_path for r in station_files(vault)} == {"D1/fresh.mp4", "D1/recording.mp4"}


def test_file_that_changes_during_copy_waits_and_nothing_is_stored(
    vault: Vault, clip_dir: Path
) -> None:
    target = put_clip(clip_dir, 3, vault.station_dir / "D1" / "live.mp4")
    ctx = vault.ingest_context()
    scan_all(ctx)
    scan_all(ctx)
    with open(target, "ab") as handle:  # the camera was still writing after all
        handle.write(b"more frames")
    assert ingest_next(ctx)
    [row] = station_files(vault)
    assert row.state == FileState.WAITING and not row.stable
    assert "changed" in (row.last_error or "")
    assert vault.items() == []
    assert target.exists()


def test_stored_objects_are_read_only(vault: Vault, clip_dir: Path) -> None:
    put_clip(clip_dir, 2, vault.station_dir / "D1" / "x.mp4")
    vault.ingest()
    [item] = vault.items()
    for locator in (item.sealed_locator, item.access_locator):
        assert stat.S_IMODE(os.stat(locator).st_mode) == 0o400


class VanishingStation(LocalDirectoryStation):
    """A share that drops after a few chunks, as an unplugged docking station does (EIO)."""

    def read(self, listing: Listing, *, chunk_size: int) -> Iterator[bytes]:
        for n, chunk in enumerate(super().read(listing, chunk_size=chunk_size)):
            if n == 3:
                raise StationUnavailable("station station0: read failed: Input/output error")
            yield chunk


def test_station_that_disappears_mid_copy_loses_nothing(vault: Vault, clip_dir: Path) -> None:
    target = vault.station_dir / "D1" / "big.bin"
    target.parent.mkdir()
    target.write_bytes(os.urandom(2 * 1024 * 1024))
    ctx = vault.ingest_context()
    station_id = next(iter(ctx.adapters))
    flaky = replace(
        ctx,
        adapters={station_id: VanishingStation("station0", vault.station_dir)},
        settings=vault.settings.model_copy(update={"chunk_size": 64 * 1024}),
    )
    scan_all(flaky)
    scan_all(flaky)
    assert ingest_next(flaky)
    [row] = station_files(vault)
    assert row.state == FileState.WAITING and "Input/output error" in (row.last_error or "")
    assert vault.items() == [] and target.exists()
    for store in (vault.app.stores.sealed, vault.app.stores.access):
        assert isinstance(store, FilesystemStore)
        assert store.iter_digests() == [] and list((store.root / "tmp").iterdir()) == []
    # The station comes back: the next attempt (after the retry pause) ingests it whole.
    assert not ingest_next(ctx)  # within the pause: no tight loop on a failing file
    soon = replace(ctx, settings=ctx.settings.model_copy(update={"scan_interval_seconds": 0.001}))
    time.sleep(0.01)
    assert ingest_next(soon)
    [item] = vault.items()
    assert item.digest == sha256(vault.station_dir / "ingested" / "D1" / "big.bin")


class GoneBeforeAcknowledgement(LocalDirectoryStation):
    """A dock unplugged (its whole folder gone) after the recording was committed, just
    before the vault moves it to ingested/ on the station."""

    def __init__(self, name: str, root: Path, away: Path) -> None:
        super().__init__(name, root, "move")
        self.away = away

    def acknowledge(self, listing: Listing) -> str:
        shutil.move(os.fsdecode(self.root), self.away)
        return super().acknowledge(listing)


def test_a_station_gone_before_its_acknowledgement_is_not_made_again(
    vault: Vault, clip_dir: Path
) -> None:
    put_clip(clip_dir, 0, vault.station_dir / "D1" / "one.mp4")
    ctx = vault.ingest_context()
    station_id = next(iter(ctx.adapters))
    away = vault.root / "unplugged"
    unplugged = replace(
        ctx, adapters={station_id: GoneBeforeAcknowledgement("station0", vault.station_dir, away)}
    )
    scan_all(ctx)
    scan_all(ctx)
    assert ingest_next(unplugged)
    [item] = vault.items()  # committed: both copies are safe
    [row] = station_files(vault)
    assert row.state == FileState.INGESTED  # not acknowledged: nothing was moved
    # The station's folder is not made again on this host: the next scan finds it gone.
    assert not vault.station_dir.exists()
    with pytest.raises(StationUnavailable, match="cannot list"):
        ctx.adapters[station_id].list_files()
    with unit_of_work(vault.app.factory) as session:
        station = session.get(Station, station_id)
        assert station is not None and "is gone; nothing was moved" in (station.last_error or "")
    # It comes back: the acknowledgement left over is done on the next scan.
    shutil.move(away, vault.station_dir)
    scan_all(ctx)
    [row] = station_files(vault)
    assert row.state == FileState.ACKNOWLEDGED
    assert sha256(vault.station_dir / "ingested" / "D1" / "one.mp4") == item.digest


def test_a_failed_file_waits_a_scan_interval_before_its_retry(
    isolated_env: Path, clip_dir: Path
) -> None:
    """No tight loop on a file that keeps failing (a station down, a full store): after a
    failed attempt the file is not claimed again until scan_interval_seconds have passed."""
    vault = make_vault(isolated_env, scan_interval_seconds=3600)
    put_clip(clip_dir, 0, vault.station_dir / "D1" / "clip.mp4")
    ctx = vault.ingest_context()
    scan_all(ctx)
    scan_all(ctx)
    with unit_of_work(vault.app.factory) as session:
        (row,) = session.execute(select(StationFile)).scalars()
        row.last_error, row.claimed_at = "station went away", utcnow()  # a failed attempt
    assert not ingest_next(ctx)  # within the pause: left alone
    with unit_of_work(vault.app.factory) as session:
        (row,) = session.execute(select(StationFile)).scalars()
        row.claimed_at = utcnow() - timedelta(hours=2)  # the pause has passed
    assert ingest_next(ctx)
    assert len(vault.items()) == 1


class DamageOnceWritten(logging.Handler):
    """Flips a byte of one stored copy the moment both are written, before they are re-read
    (a disk that returns other bytes than it was given)."""

    def __init__(self, vault: Vault, copy: str) -> None:
        super().__init__()
        self.store = getattr(vault.app.stores, copy)

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "step", None) != "access_written":
            return
        (digest,) = self.store.iter_digests()
        path = self.store.path_for(digest)
        os.chmod(path, 0o644)
        with open(path, "r+b") as damaged:
            damaged.seek(100)
            byte = damaged.read(1)
            damaged.seek(100)
            damaged.write(bytes([byte[0] ^ 0xFF]))


@pytest.mark.parametrize("copy", ["sealed", "access"])
def test_a_copy_that_reads_back_wrong_is_never_committed(
    vault: Vault, clip_dir: Path, copy: str
) -> None:
    """Invariant 1: the re-read of each stored copy, not the hash taken while writing, decides."""
    clip = put_clip(clip_dir, 0, vault.station_dir / "D1" / "x.mp4")
    handler = DamageOnceWritten(vault, copy)
    logger = logging.getLogger("ingest.pipeline")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)  # the steps are INFO records
    try:
        vault.ingest()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert vault.items() == []
    assert clip.exists()  # left on the station
    (row,) = station_files(vault)
    assert row.state == FileState.WAITING
    assert f"{copy} copy of D1/x.mp4 read back as" in (row.last_error or "")


def test_a_station_clock_years_ahead_never_stops_ingest(vault: Vault, clip_dir: Path) -> None:
    """Settling is judged by the vault's own clock: a file dated 400 days ahead by its
    station is taken once two scans saw it unchanged."""
    target = put_clip(clip_dir, 0, vault.station_dir / "D1" / "ahead.mp4")
    ahead = time.time() + 400 * 24 * 3600
    os.utime(target, (ahead, ahead))
    ctx = vault.ingest_context()
    scan_all(ctx)
    scan_all(ctx)
    assert ingest_next(ctx)
    assert [i.original_name for i in vault.items()] == ["ahead.mp4"]


def test_settling_counts_from_the_vaults_own_sighting() -> None:
    seen = Seen(size=10, mtime_ns=int((T0 + timedelta(days=400)).timestamp() * 1e9))
    settle = timedelta(seconds=30)
    assert not is_stable(previous=seen, current=seen, unchanged_since=T0,
                         now=T0 + timedelta(seconds=29), settle=settle)  # fmt: skip
    assert is_stable(previous=seen, current=seen, unchanged_since=T0,
                     now=T0 + timedelta(seconds=30), settle=settle)  # fmt: skip
    grown = Seen(size=11, mtime_ns=seen.mtime_ns)
    assert not is_stable(previous=seen, current=grown, unchanged_since=T0,
                         now=T0 + timedelta(hours=1), settle=settle)  # fmt: skip


T0 = datetime(2026, 12, 1, tzinfo=UTC)


def test_one_worker_takes_the_next_file_while_the_last_one_is_verified(
    isolated_env: Path, clip_dir: Path, signatures: Path
) -> None:
    """One worker: each file's re-reads, probe, virus scan and commit run behind the next
    file's transfer, so the station's link is not idle meanwhile; every file still ends
    committed and acknowledged once, in the order it was taken."""
    vault = make_vault(isolated_env, virus_scanner="clamscan", clamav_database=signatures)
    names = [f"CAM1_P1001_20261124T09{n}000.mp4" for n in range(3)]
    for n, name in enumerate(names):
        put_clip(clip_dir, n, vault.station_dir / "CAM1" / name)
    steps: list[tuple[str, str, str]] = []

    class Steps(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage() == "ingest step":
                steps.append((record.__dict__["step"], record.__dict__["file"],
                              threading.current_thread().name))  # fmt: skip

    pipeline_log = logging.getLogger("ingest.pipeline")
    handler, level = Steps(), pipeline_log.level
    pipeline_log.addHandler(handler)
    pipeline_log.setLevel(logging.INFO)
    try:
        run_once(vault.ingest_context(), workers=1)
    finally:
        pipeline_log.removeHandler(handler)
        pipeline_log.setLevel(level)
    order = [file for step, file, _ in steps if step == "claimed"]
    assert sorted(order) == sorted(f"CAM1/{name}" for name in names)

    def at(step: str, file: str) -> int:
        return steps.index(next(s for s in steps if s[:2] == (step, file)))

    for earlier, later in itertools.pairwise(order):
        assert at("claimed", later) < at("committed", earlier)
    for step, _, thread in steps:
        if step in ("verified", "scanned", "committed", "acknowledged"):
            assert thread.startswith("ingest-finish"), (step, thread)
        else:
            assert thread.startswith("ingest_"), (step, thread)
    assert [s for s, _, _ in steps].count("committed") == 3
    assert [s for s, _, _ in steps].count("acknowledged") == 3
    assert len(vault.items()) == 3
    assert sorted(p.name for p in (vault.station_dir / "ingested" / "CAM1").iterdir()) == names
    vault.app.engine.dispose()

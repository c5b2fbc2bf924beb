"""Scanning all stations and draining ready files with bounded parallelism."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

from sqlalchemy import select

from config.settings import Settings, StationConfig
from ingest.claims import worker_identity
from ingest.models import FileState, StationFile
from ingest.pipeline import (
    IngestContext,
    Transferred,
    acknowledge,
    claim_usable,
    finish_transferred,
    guarded,
    transfer_claimed,
)
from ingest.scan import ScanSummary, record_scan, sync_stations
from ingest.stations.base import StationAdapter, StationUnavailable
from ingest.stations.ftp import FtpStation
from ingest.stations.local_dir import LocalDirectoryStation
from ingest.stations.sftp import SftpStation
from ingest.throttle import Throttle
from vault.db import SessionFactory, unit_of_work, utcnow
from vault.models import Station
from vault.stores.factory import Stores

log = logging.getLogger(__name__)


def make_adapter(settings: Settings, name: str) -> StationAdapter:
    return make_adapter_for(settings.station(name))


def make_adapter_for(config: StationConfig) -> StationAdapter:
    if config.kind in ("ftp", "ftps"):
        return FtpStation(config)
    if config.kind == "sftp":
        return SftpStation(config)
    assert config.path is not None  # validated: a local station has its path
    return LocalDirectoryStation(config.name, config.path, config.acknowledge)


def build_context(settings: Settings, factory: SessionFactory, stores: Stores) -> IngestContext:
    with unit_of_work(factory) as session:
        stations = sync_stations(session, settings)
        adapters = {stations[c.name].id: make_adapter(settings, c.name) for c in settings.stations}
    ids = {c.name: stations[c.name].id for c in settings.stations}
    return IngestContext(
        settings=settings,
        factory=factory,
        stores=stores,
        adapters=adapters,
        worker=worker_identity(),
        transfer_limits={
            ids[c.name]: c.max_concurrent_transfers
            for c in settings.stations
            if c.max_concurrent_transfers is not None
        },
        throttles={
            ids[c.name]: Throttle(c.max_bytes_per_second)
            for c in settings.stations
            if c.max_bytes_per_second is not None
        },
    )


def scan_all(ctx: IngestContext) -> list[ScanSummary]:
    """Scan every station; one that fails (unreachable, or an error nobody foresaw) is
    logged and kept as its last error, and the others are scanned all the same."""
    summaries = []
    for station_id, adapter in ctx.adapters.items():
        try:
            summaries.append(_scan_one(ctx, station_id, adapter))
        except Exception as exc:
            if isinstance(exc, StationUnavailable):
                log.error("station unavailable", extra={"station": adapter.name, "error": str(exc)})
            else:
                log.exception("station scan failed", extra={"station": adapter.name})
            with unit_of_work(ctx.factory) as session:
                station = session.get(Station, station_id)
                assert station is not None
                station.last_error, station.last_error_at = str(exc)[:2000], utcnow()
    acknowledge_leftovers(ctx)
    return summaries


def _scan_one(ctx: IngestContext, station_id: uuid.UUID, adapter: StationAdapter) -> ScanSummary:
    listings = adapter.list_files()
    free = adapter.free_bytes()
    with unit_of_work(ctx.factory) as session:
        station = session.get(Station, station_id)
        assert station is not None
        now = utcnow()
        listed_before = station.last_contact_at
        station.last_contact_at, station.free_bytes = now, free
        summary = record_scan(
            session,
            station=station,
            listings=listings,
            now=now,
            settle=timedelta(seconds=ctx.settings.settle_seconds),
            listed_before=listed_before,
        )
    log.info("station scanned", extra=vars(summary))
    return summary


def acknowledge_leftovers(ctx: IngestContext) -> None:
    """Files committed but not yet acknowledged (a worker died, or the station refused):
    each on its own, so one failing station or file never stops the others."""
    with unit_of_work(ctx.factory) as session:
        ids = list(
            session.execute(
                select(StationFile.id).where(StationFile.state == FileState.INGESTED)
            ).scalars()
        )
    for file_id in ids:
        try:
            acknowledge(ctx, file_id)
        except Exception:
            log.exception("acknowledging a committed file failed", extra={"file_id": str(file_id)})


@dataclass
class Drainer:
    """Runs up to ``workers`` ingest loops at once; each loop takes files until none is ready,
    verifying and committing each while the next one's bytes arrive."""

    ctx: IngestContext
    workers: int
    stop: threading.Event = field(default_factory=threading.Event)
    failures: list[str] = field(default_factory=list)  # what stopped a loop, never silent
    _active: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _loop(self) -> None:
        try:
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-finish") as finisher:
                self._take_files(finisher)
        except Exception as exc:
            # A worker's future is never awaited: without this the failure would vanish.
            log.exception("ingest worker stopped by an error")
            with self._lock:
                self.failures.append(f"{type(exc).__name__}: {exc}")
        finally:
            with self._lock:
                self._active -= 1

    def _take_files(self, finisher: ThreadPoolExecutor) -> None:
        """Files one after another, each one's verification and commit (finisher) running
        while the next one's bytes arrive: the station's link is not left idle while the
        vault re-reads what it wrote. At most one file finishes behind the transfer."""
        ctx = self.ctx
        finishing: Future[None] | None = None
        while not self.stop.is_set():
            claimed = claim_usable(ctx)
            if claimed is None:
                if finishing is None:
                    return
                # The finishing file may hold the station's only transfer slot
                # (max_concurrent_transfers): once it is done, look again.
                finishing.result()
                finishing = None
                continue
            transferred = guarded(ctx, claimed, partial(transfer_claimed, ctx, claimed))
            if finishing is not None:
                finishing.result()
                finishing = None
            if transferred is not None:
                finishing = finisher.submit(_finish, ctx, transferred)
        if finishing is not None:
            finishing.result()

    def kick(self, pool: ThreadPoolExecutor) -> None:
        with self._lock:
            free = self.workers - self._active
            self._active += max(free, 0)
        for _ in range(max(free, 0)):
            pool.submit(self._loop)


def _finish(ctx: IngestContext, transferred: Transferred) -> None:
    claimed = transferred.claimed
    if guarded(ctx, claimed, partial(finish_transferred, ctx, transferred)) is not None:
        try:
            acknowledge(ctx, claimed.file_id)
        except Exception:  # never lose the next file, mid-transfer, to it: a later pass retries
            log.exception("acknowledging a committed file failed",
                          extra={"file_id": str(claimed.file_id)})  # fmt: skip


@dataclass(frozen=True)
class PassResult:
    summaries: list[ScanSummary]
    worker_failures: list[str]


def run_once(ctx: IngestContext, *, workers: int) -> PassResult:
    """One pass: scan, let files settle, scan again, ingest everything ready, then return."""
    scan_all(ctx)
    time.sleep(ctx.settings.settle_seconds)
    summaries = scan_all(ctx)
    drainer = Drainer(ctx, workers)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ingest") as pool:
        drainer.kick(pool)
    acknowledge_leftovers(ctx)
    return PassResult(summaries, list(drainer.failures))

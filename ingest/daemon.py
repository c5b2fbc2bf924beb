"""`evault daemon`: scan stations on an interval, ingest with bounded parallelism, watch the
deadline, stop cleanly on SIGTERM."""

from __future__ import annotations

import logging
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, timedelta
from types import FrameType

from apscheduler.schedulers.background import BackgroundScheduler

from custody.fixity.checks import run_slice
from custody.log.checkpoints import run_checkpoint_job
from ingest.deadline import deadline_of, raise_deadline_alerts, raise_station_alerts
from ingest.pipeline import IngestContext
from ingest.renditions import render_pending
from ingest.runner import Drainer, scan_all
from retention.forever import keep_forever
from vault.db import unit_of_work, utcnow
from vault.errors import IntegrityViolation, VaultError
from vault.webhook import deliver_alerts

# Forever locks are far dates renewed at half their span (decades): a weekly look suffices,
# and it also notices soon a checkpoint or register copy that is gone.
KEEP_FOREVER_EVERY_SECONDS = 7 * 24 * 3600

log = logging.getLogger(__name__)


def check_deadline(ctx: IngestContext) -> int:
    """Raise the deadline and station alerts due now, then hand undelivered alerts to the
    webhook; returns how many alerts were raised."""
    settings = ctx.settings
    now = utcnow()
    with unit_of_work(ctx.factory) as session:
        raised = raise_deadline_alerts(session, now=now, deadline=deadline_of(settings))
        raised += raise_station_alerts(
            session, now=now, after=timedelta(minutes=settings.station_unreachable_minutes)
        )
    deliver_alerts(ctx.factory, settings)
    return raised


def remove_stale_temps(ctx: IngestContext) -> None:
    for store in (ctx.stores.sealed, ctx.stores.access):
        try:
            removed = store.remove_stale_temps()
        except VaultError as exc:  # housekeeping: never a reason not to ingest
            log.warning("could not clean up interrupted writes", extra={"error": str(exc)})
            continue
        if removed:
            log.info(
                "removed temp files of interrupted writes",
                extra={"store": store.name, "count": removed},
            )


class Daemon:
    def __init__(self, ctx: IngestContext) -> None:
        self.ctx = ctx
        self.stopping = threading.Event()
        self.drainer = Drainer(ctx, ctx.settings.ingest_workers)
        self.pool = ThreadPoolExecutor(
            max_workers=ctx.settings.ingest_workers, thread_name_prefix="ingest"
        )
        self.rendition_pool = ThreadPoolExecutor(
            max_workers=ctx.settings.rendition_workers, thread_name_prefix="rendition"
        )
        self.scheduler = BackgroundScheduler(timezone=UTC)

    def _tick(self) -> None:
        if self.stopping.is_set():
            return
        try:
            scan_all(self.ctx)
        except Exception:
            log.exception("scan failed")
        finally:
            # Files already found ready are drained even when this scan failed part-way.
            self.drainer.kick(self.pool)

    def _renditions(self) -> None:
        # One job instance at a time (max_instances=1) on its own bounded pool: renditions
        # never compete with ingest's workers and never run inside an ingest transaction.
        if self.stopping.is_set():
            return
        try:
            futures = [
                self.rendition_pool.submit(render_pending, self.ctx)
                for _ in range(self.ctx.settings.rendition_workers)
            ]
            for future in futures:
                future.result()
        except Exception:
            log.exception("rendition pass failed")

    def _checkpoint(self) -> None:
        try:
            run = run_checkpoint_job(self.ctx.factory, self.ctx.settings, self.ctx.stores.sealed)
            if run.made is not None:
                log.info("checkpoint signed", extra={"id": run.made.id, "size": run.made.tree_size})
            if run.tsa_error:  # the TSA is down: the checkpoint is stamped next time
                log.warning("checkpoint not yet time-stamped", extra={"reason": run.tsa_error})
        except IntegrityViolation as exc:
            # The log no longer extends what was signed: an alarm, not a retry.
            log.error("checkpoint refused", extra={"reason": str(exc)})
        except Exception:
            log.exception("checkpoint failed")

    def _fixity(self) -> None:
        settings = self.ctx.settings
        try:
            outcomes = run_slice(
                self.ctx.factory, self.ctx.stores, cycle=settings.fixity_cycle,
                every=settings.fixity_run_every, chunk_size=settings.chunk_size,
            )  # fmt: skip
            if outcomes:
                failed = sum(not o.intact for o in outcomes)
                log.info("fixity run", extra={"checked": len(outcomes), "failed": failed})
        except Exception:
            log.exception("fixity run failed")

    def _keep_forever(self) -> None:
        try:
            kept = keep_forever(self.ctx.factory, self.ctx.stores)
            log.info("forever locks checked",
                     extra={"items": kept.items, "registers": kept.registers,
                            "problems": len(kept.problems)})  # fmt: skip
        except Exception:
            log.exception("forever lock check failed")

    def _deadline(self) -> None:
        try:
            check_deadline(self.ctx)
        except Exception:
            log.exception("deadline check failed")

    def request_stop(self, signum: int | None = None, _frame: FrameType | None = None) -> None:
        if signum is not None:
            log.info("stop requested", extra={"signal": signal.Signals(signum).name})
        self.stopping.set()
        self.drainer.stop.set()

    def run(self, *, install_signal_handlers: bool = True) -> None:
        if install_signal_handlers:
            signal.signal(signal.SIGTERM, self.request_stop)
            signal.signal(signal.SIGINT, self.request_stop)
        remove_stale_temps(self.ctx)
        settings = self.ctx.settings
        # Each job runs at most once at a time; a run that falls behind is coalesced.
        for job, seconds, name in (
            (self._tick, settings.scan_interval_seconds, "scan"),
            (self._renditions, settings.scan_interval_seconds, "renditions"),
            (self._deadline, settings.sla_check_interval_seconds, "deadline"),
            (self._checkpoint, settings.checkpoint_interval_minutes * 60, "checkpoint"),
            (self._fixity, settings.fixity_run_minutes * 60, "fixity"),
            (self._keep_forever, KEEP_FOREVER_EVERY_SECONDS, "keep-forever"),
        ):
            self.scheduler.add_job(
                job,
                "interval",
                seconds=seconds,
                next_run_time=utcnow(),
                max_instances=1,
                coalesce=True,
                id=name,
            )
        self.scheduler.start()
        log.info(
            "daemon started",
            extra={
                "stations": [a.name for a in self.ctx.adapters.values()],
                "workers": settings.ingest_workers,
                "scan_interval_s": settings.scan_interval_seconds,
            },
        )
        self.stopping.wait()
        self.scheduler.shutdown(wait=True)
        # Workers finish the file in hand (its copies and commit), then take no more.
        self.pool.shutdown(wait=True)
        self.rendition_pool.shutdown(wait=True)
        log.info("daemon stopped cleanly")

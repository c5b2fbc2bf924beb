"""Ingest one claimed station file (invariant 1).

Order: stream from the station into the sealed and the access store at once (vault.stores.tee:
one read of the station, every byte hashed as it arrives) -> re-read both stored copies side by
side and match each to that digest -> probe and virus check of the sealed copy -> one
transaction for the item, its custody events and the file's state -> only then acknowledge the
file on the station. A crash anywhere leaves either nothing the next attempt cannot finish, or a
complete item; the content address makes a retry converge on the same objects, and the digest's
uniqueness makes it converge on the same item.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import TypeVar

from sqlalchemy.exc import IntegrityError

from config.settings import Settings
from custody.log.kinds import EventKind
from ingest.admission import IngestFacts, register_ingest
from ingest.claims import claim_next
from ingest.models import FileState, StationFile
from ingest.naming import NameFields, display_name, parse_name
from ingest.shared_sidecars import left_on_station, unapplied_if_shared
from ingest.sidecar import MAX_SIDECAR_BYTES, Sidecar, parse_sidecar, sidecar_names
from ingest.stations.base import Listing, SourceChanged, StationAdapter, StationUnavailable
from ingest.throttle import Throttle, throttled
from ingest.virus import ScannerUnavailable, ScanOutcome, make_scanner, scan_stored
from retention.ends import initial_decision
from retention.rules import RetentionDecision
from vault.db import SessionFactory, unit_of_work, utcnow
from vault.errors import Conflict, IntegrityViolation, StoreError
from vault.media import ProbeFailed, ProbeResult, probe_stream
from vault.models import Station
from vault.stores.factory import Stores
from vault.stores.protocol import Retention, StoredObject, rehash
from vault.stores.tee import put_both

log = logging.getLogger(__name__)

T = TypeVar("T")

INGEST_ACTOR = "system:ingest"


class ClaimLost(Conflict):
    """Another worker took the file over (this one was presumed dead); let it finish."""


@dataclass(frozen=True)
class IngestContext:
    settings: Settings
    factory: SessionFactory
    stores: Stores
    adapters: Mapping[uuid.UUID, StationAdapter]  # by station id
    worker: str
    # Per-station limits (StationConfig.max_concurrent_transfers / max_bytes_per_second).
    transfer_limits: Mapping[uuid.UUID, int] = field(default_factory=dict)
    throttles: Mapping[uuid.UUID, Throttle] = field(default_factory=dict)


@dataclass(frozen=True)
class Prepared:
    """Everything learnt about a file before its transaction: verified copies, probe, names."""

    sealed: StoredObject
    access: StoredObject
    retention: Retention
    decision: RetentionDecision
    probe: ProbeResult | None
    probe_error: str | None
    name_fields: NameFields
    sidecar: Sidecar | None
    scan: ScanOutcome


@dataclass(frozen=True)
class Claimed:
    file_id: uuid.UUID
    station_id: uuid.UUID
    listing: Listing


def _step(step: str, listing: Listing, **extra: object) -> None:
    log.info("ingest step", extra={"step": step, "file": display_name(listing.rel_path), **extra})


def listing_of(row: StationFile) -> Listing:
    rel = bytes(row.rel_path_raw)
    return Listing(rel, row.size, row.mtime_ns, rel.split(b"/", 1)[0] if b"/" in rel else None)


def write_both(
    stores: Stores,
    adapter: StationAdapter,
    listing: Listing,
    chunk_size: int,
    retention: Retention,
    *,
    throttle: Throttle | None = None,
) -> tuple[StoredObject, StoredObject]:
    """Both copies written from the station's stream as it arrives (the lock goes on with
    the write: there is no moment when the sealed copy is deletable)."""
    source = throttled(adapter.read(listing, chunk_size=chunk_size), throttle)
    sealed, access = put_both(stores.sealed, stores.access, source, retention=retention)
    _step("sealed_written", listing, digest=sealed.digest)
    _step("access_written", listing)
    return sealed, access


def verify_both(
    stores: Stores,
    listing: Listing,
    sealed: StoredObject,
    access: StoredObject,
    chunk_size: int,
) -> None:
    """Each copy re-read from its own store and re-hashed, the two side by side. Each
    re-read reads the version its write returned (its locator), the one the item will
    record."""
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="reread") as pool:
        rereads = {
            store.name: pool.submit(
                rehash, store, sealed.digest, chunk_size=chunk_size, locator=written.locator
            )
            for store, written in ((stores.sealed, sealed), (stores.access, access))
        }
    for name, reread in rereads.items():
        actual, size = reread.result()
        if actual != sealed.digest or size != sealed.size:
            raise IntegrityViolation(
                f"{name} copy of {display_name(listing.rel_path)} read back as {actual}"
                f" ({size} bytes), written as {sealed.digest} ({sealed.size} bytes)"
            )
    _step("verified", listing)


def probe_sealed(stores: Stores, digest: str) -> tuple[ProbeResult | None, str | None]:
    with stores.sealed.open(digest) as stream:
        try:
            return probe_stream(stream), None
        except ProbeFailed as exc:
            # Evidence first: the bytes are kept whatever ffmpeg thinks of them.
            return None, f"ffmpeg cannot read this file: {exc}"


def read_sidecar(adapter: StationAdapter, listing: Listing) -> Sidecar | None:
    for name in sidecar_names(listing.rel_path):
        raw = adapter.read_small(name, limit=MAX_SIDECAR_BYTES)
        if raw is not None:
            return parse_sidecar(raw, display_name(name))
    return None


def keep_sidecar(stores: Stores, sidecar: Sidecar | None, retention: Retention) -> None:
    """The sidecar's bytes into both stores, re-read and matched, before anything commits:
    acknowledging may delete the station's copy, and the bytes are evidence of what the
    station said (a malformed sidecar most of all)."""
    if sidecar is None or sidecar.raw is None:
        return
    put_both(stores.sealed, stores.access, iter([sidecar.raw]), retention=retention)
    for store in (stores.sealed, stores.access):
        actual, size = rehash(store, sidecar.digest)
        if (actual, size) != (sidecar.digest, sidecar.size):
            raise IntegrityViolation(
                f"{store.name} copy of sidecar {sidecar.name} read back as {actual} ({size} bytes)"
            )


def _release(ctx: IngestContext, claimed: Claimed, error: str, *, changed: bool) -> None:
    with unit_of_work(ctx.factory) as session:
        row = session.get(StationFile, claimed.file_id, with_for_update=True)
        if row is None or row.claimed_by != ctx.worker:
            return
        row.state, row.claimed_by, row.last_error = FileState.WAITING, None, error
        if changed:
            row.stable = False  # it is still being written: wait for it to settle again


def _register(
    ctx: IngestContext,
    claimed: Claimed,
    prepared: Prepared,
) -> tuple[uuid.UUID, bool]:
    with unit_of_work(ctx.factory) as session:
        row = session.get(StationFile, claimed.file_id, with_for_update=True)
        if row is None or row.state != FileState.INGESTING or row.claimed_by != ctx.worker:
            raise ClaimLost(display_name(claimed.listing.rel_path))
        station = session.get(Station, row.station_id)
        assert station is not None
        now = utcnow()
        item, created = register_ingest(
            session,
            IngestFacts(
                station=station,
                rel_path=claimed.listing.rel_path,
                device_dir=claimed.listing.device_dir,
                sealed=prepared.sealed,
                access=prepared.access,
                docked_at=row.first_seen_at,
                docked_after=row.docked_after,
                ingested_at=now,
                retention=prepared.decision,
                probe=prepared.probe,
                probe_error=prepared.probe_error,
                name_fields=prepared.name_fields,
                sidecar=prepared.sidecar,
                scan=prepared.scan,
                actor=f"{INGEST_ACTOR}@{ctx.worker.split(':', 1)[0]}",
            ),
        )
        row.state, row.item_id, row.ingested_at = FileState.INGESTED, item.id, now
        row.claimed_by, row.last_error = None, None
        return item.id, created


@dataclass(frozen=True)
class Transferred:
    """A claimed file whose bytes are in both stores, not yet verified nor registered."""

    claimed: Claimed
    decision: RetentionDecision
    retention: Retention
    sealed: StoredObject
    access: StoredObject


def ingest_claimed(ctx: IngestContext, claimed: Claimed) -> uuid.UUID:
    return finish_transferred(ctx, transfer_claimed(ctx, claimed))


def transfer_claimed(ctx: IngestContext, claimed: Claimed) -> Transferred:
    """The station's part of an ingest: its bytes streamed into both stores."""
    adapter = ctx.adapters[claimed.station_id]
    listing = claimed.listing
    _step("claimed", listing, station=adapter.name)
    with unit_of_work(ctx.factory, read_only=True) as session:
        row = session.get(StationFile, claimed.file_id)
        received_at = row.first_seen_at if row is not None else utcnow()
        decision = initial_decision(session, received_at=received_at)
    retention = Retention(until=decision.until)
    throttle = ctx.throttles.get(claimed.station_id)
    sealed, access = write_both(
        ctx.stores, adapter, listing, ctx.settings.chunk_size, retention, throttle=throttle
    )
    return Transferred(claimed, decision, retention, sealed, access)


def finish_transferred(ctx: IngestContext, transferred: Transferred) -> uuid.UUID:
    """The vault's part: both copies re-read and matched, probed, scanned, the sidecar kept,
    and the item, its custody events and the file's state in one transaction."""
    claimed, retention = transferred.claimed, transferred.retention
    sealed, access = transferred.sealed, transferred.access
    adapter = ctx.adapters[claimed.station_id]
    listing = claimed.listing
    chunk = ctx.settings.chunk_size
    station_config = ctx.settings.station(adapter.name)
    verify_both(ctx.stores, listing, sealed, access, chunk)
    probe, probe_error = probe_sealed(ctx.stores, sealed.digest)
    scan = scan_stored(
        make_scanner(ctx.settings), ctx.stores.sealed, sealed.digest, chunk_size=chunk,
        hold=ctx.settings.scanner_unavailable == "hold",
    )  # fmt: skip
    _step("scanned", listing, verdict=scan.status.value, detail=scan.detail)
    sidecar = read_sidecar(adapter, listing)
    with unit_of_work(ctx.factory, read_only=True) as session:
        row = session.get(StationFile, claimed.file_id)
        if row is not None:
            sidecar = unapplied_if_shared(sidecar, row, session)
    keep_sidecar(ctx.stores, sidecar, retention)
    prepared = Prepared(
        sealed=sealed,
        access=access,
        retention=retention,
        decision=transferred.decision,
        probe=probe,
        probe_error=probe_error,
        name_fields=parse_name(
            listing.rel_path.rsplit(b"/", 1)[-1], ctx.settings.filename_for(station_config)
        ),
        sidecar=sidecar,
        scan=scan,
    )
    try:
        item_id, created = _register(ctx, claimed, prepared)
    except IntegrityError:
        # Two stations docked the same bytes at once: the other commit won; record ours as a
        # second arrival of the same item.
        item_id, created = _register(ctx, claimed, prepared)
    _step(
        "committed",
        listing,
        item=str(item_id),
        kind=EventKind.INGESTED.value if created else EventKind.RECEIVED_AGAIN.value,
    )
    return item_id


def acknowledge(ctx: IngestContext, file_id: uuid.UUID) -> bool:
    """Acknowledge one committed file on its station. A station that fails (gone, refusing
    the move or the delete) affects only this file: the failure is logged and kept as the
    station's last error, and the file is acknowledged on a later scan. True when done."""
    with unit_of_work(ctx.factory) as session:
        row = session.get(StationFile, file_id, with_for_update=True)
        if row is None or row.state != FileState.INGESTED:
            return False
        adapter = ctx.adapters.get(row.station_id)
        if adapter is None:
            return False
        listing = replace(listing_of(row), keep=left_on_station(session, row, adapter.name))
        try:
            done = adapter.acknowledge(listing)
        except (StationUnavailable, OSError) as exc:
            error = f"acknowledging {row.rel_path} failed: {exc}"
            log.error(
                "station acknowledgement failed; will retry",
                extra={"station": adapter.name, "file": row.rel_path, "error": str(exc)},
            )
            station = session.get(Station, row.station_id)
            if station is not None:
                station.last_error, station.last_error_at = error[:2000], utcnow()
            return False
        row.state = FileState.ACKNOWLEDGED
    _step("acknowledged", listing, action=done)
    return True


def claim_usable(ctx: IngestContext) -> Claimed | None:
    """Claim the next ready file of a station this worker reads; None when none is ready.
    A file of a station not configured here is released, with why, and the next tried."""
    while True:
        with unit_of_work(ctx.factory) as session:
            pause = timedelta(seconds=ctx.settings.scan_interval_seconds)
            row = claim_next(session, worker=ctx.worker, now=utcnow(), retry_pause=pause,
                             station_limits=ctx.transfer_limits)  # fmt: skip
            if row is None:
                return None
            claimed = Claimed(row.id, row.station_id, listing_of(row))
        if claimed.station_id in ctx.adapters:
            return claimed
        _release(ctx, claimed, "station is not configured in this worker", changed=False)


def ingest_next(ctx: IngestContext) -> bool:
    """Claim and ingest one ready file. Returns False when none is ready."""
    claimed = claim_usable(ctx)
    if claimed is None:
        return False
    if guarded(ctx, claimed, lambda: ingest_claimed(ctx, claimed)) is not None:
        acknowledge(ctx, claimed.file_id)
    return True


def guarded(ctx: IngestContext, claimed: Claimed, step: Callable[[], T]) -> T | None:
    """A step of a claimed file's ingest; on failure the file is released with the reason
    and None returned (the file waits on its station for a later attempt)."""
    shown = display_name(claimed.listing.rel_path)
    try:
        return step()
    except SourceChanged as exc:
        _release(ctx, claimed, str(exc), changed=True)
        log.warning("file still changing; will wait", extra={"file": shown, "error": str(exc)})
        return None
    except (StationUnavailable, StoreError, IntegrityViolation, ScannerUnavailable, OSError) as exc:
        _release(ctx, claimed, str(exc), changed=False)
        log.error(
            "ingest failed; file left on the station for a later attempt",
            extra={"file": shown, "error": str(exc)},
        )
        return None
    except ClaimLost:
        log.warning("claim was taken over by another worker", extra={"file": shown})
        return None
    except Exception as exc:
        # Anything unforeseen must not leave the file claimed by a live process forever.
        _release(ctx, claimed, f"unexpected error: {exc}", changed=False)
        log.exception("ingest failed unexpectedly", extra={"file": shown})
        return None

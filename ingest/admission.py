"""Turn a verified pair of copies into an evidence item and its first custody events.

Flushes only; the pipeline's unit of work commits the item, its events and the station-file
state together, so a crash leaves all of them or none.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from custody.log.append import append_event
from custody.log.canonical import format_time
from custody.log.kinds import EventKind
from ingest.naming import NameFields, display_name
from ingest.sidecar import Sidecar
from ingest.virus import ScanOutcome
from retention.ends import record_initial
from retention.rules import RetentionDecision
from vault.alert_models import AlertLevel
from vault.alerts import raise_alert
from vault.media import OCTET_STREAM, ProbeResult
from vault.models import (
    Device,
    EvidenceItem,
    ItemSidecar,
    ItemStatus,
    MediaStatus,
    ScanStatus,
    Station,
)
from vault.stores.protocol import StoredObject

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestFacts:
    station: Station
    rel_path: bytes
    device_dir: bytes | None
    sealed: StoredObject
    access: StoredObject
    docked_at: datetime
    docked_after: datetime | None
    ingested_at: datetime
    retention: RetentionDecision
    probe: ProbeResult | None
    probe_error: str | None
    name_fields: NameFields
    sidecar: Sidecar | None
    scan: ScanOutcome
    actor: str

    @property
    def original_name(self) -> bytes:
        return self.rel_path.rsplit(b"/", 1)[-1]

    @property
    def station_digest(self) -> str | None:
        """The SHA-256 the station supplied for the recording, if it did."""
        meta = self.sidecar.metadata if self.sidecar else None
        return meta.sha256.lower() if meta and meta.sha256 else None


def _device(session: Session, serial: str | None) -> Device | None:
    if not serial:
        return None
    found = session.execute(select(Device).where(Device.serial == serial)).scalar_one_or_none()
    if found is not None:
        return found
    try:
        with session.begin_nested():
            device = Device(serial=serial)
            session.add(device)
    except IntegrityError:  # another worker registered it a moment ago
        return session.execute(select(Device).where(Device.serial == serial)).scalar_one()
    return device


def _describe(facts: IngestFacts) -> dict[str, Any]:
    """Who/what/when from sidecar, then file name, then device sub-directory, then probe."""
    meta = facts.sidecar.metadata if facts.sidecar else None
    names = facts.name_fields
    device_dir = display_name(facts.device_dir) if facts.device_dir else None
    start = (
        (meta.recorded_start if meta else None)
        or names.start
        or (facts.probe.creation_time if facts.probe else None)
    )
    duration = facts.probe.duration_ms if facts.probe else None
    end = (meta.recorded_end if meta else None) or (
        start + timedelta(milliseconds=duration) if start and duration else None
    )
    return {
        "device": (meta.device if meta else None) or names.device or device_dir,
        "officer": (meta.officer if meta else None) or names.officer,
        "recorded_start": start,
        "recorded_end": end,
        "duration_ms": duration,
    }


def _ingested_data(facts: IngestFacts, described: dict[str, Any]) -> dict[str, Any]:
    latency = facts.ingested_at - facts.docked_at
    data: dict[str, Any] = {
        "digest": facts.sealed.digest,
        "size": facts.sealed.size,
        "original_name": display_name(facts.original_name),
        "source_path": display_name(facts.rel_path),
        "station": facts.station.name,
        "device": described["device"],
        "officer": described["officer"],
        # The device's clock drifts: what it reported is kept as reported, beside ours.
        "device_reported_start": (
            format_time(described["recorded_start"]) if described["recorded_start"] else None
        ),
        "docked_at": format_time(facts.docked_at),
        # Docked after this, by the vault's own listings of the station (None: no bound).
        "docked_after": format_time(facts.docked_after) if facts.docked_after else None,
        "ingested_at": format_time(facts.ingested_at),
        "latency_ms": int(latency.total_seconds() * 1000),
        "media_type": facts.probe.media_type if facts.probe else OCTET_STREAM,
        "probe": facts.probe.summary if facts.probe else None,
        "probe_error": facts.probe_error,
        "virus_scan": facts.scan.record(),
    }
    if facts.name_fields.problem:
        data["name_problem"] = facts.name_fields.problem
    claimed = facts.station_digest
    if claimed is not None:
        data["station_digest"] = {"sha256": claimed, "matches": claimed == facts.sealed.digest}
    if facts.sidecar is not None:
        data["sidecar"] = _sidecar_record(facts.sidecar)
    return data


def _sidecar_record(sidecar: Sidecar) -> dict[str, Any]:
    return {
        "name": sidecar.name,
        "digest": sidecar.digest,
        "size": sidecar.size,
        "problem": sidecar.problem,
        "kept": sidecar.raw is not None,  # in both stores, under its digest
    }


def _keep_sidecar_row(session: Session, item: EvidenceItem, facts: IngestFacts) -> None:
    sidecar = facts.sidecar
    if sidecar is None or sidecar.raw is None:
        return
    session.add(
        ItemSidecar(
            item_id=item.id, digest=sidecar.digest, size=sidecar.size, name=sidecar.name,
            station=facts.station.name, received_at=facts.ingested_at, problem=sidecar.problem,
        )
    )  # fmt: skip


def _flags(facts: IngestFacts) -> list[str]:
    claimed = facts.station_digest
    if claimed is None or claimed == facts.sealed.digest:
        return []
    return ["station_digest_mismatch"]


def _raise_item_alerts(session: Session, item: EvidenceItem, facts: IngestFacts) -> None:
    """Alerts commit with the item: there is one exactly when the item exists."""
    where = {"item": str(item.id), "station": facts.station.name,
             "file": display_name(facts.rel_path)}  # fmt: skip
    if "station_digest_mismatch" in item.flags:
        # What was received is what is sealed; the station's own hash says it sent something
        # else (a corrupted transfer, or a file altered on the station): a person must look.
        raise_alert(
            session, key=f"station_digest_mismatch:{item.id}", kind="station_digest_mismatch",
            level=AlertLevel.ERROR,
            message="station-supplied digest does not match the bytes received; item flagged",
            details={**where, "station_sha256": facts.station_digest,
                     "received_sha256": facts.sealed.digest},
            at=facts.ingested_at,
        )  # fmt: skip
    if facts.scan.status == ScanStatus.CLEAN:
        return
    if facts.scan.engine == "none":
        # Scanning switched off is the operator's choice: a warning per recording, no alert.
        log.warning("recording preserved without a virus check (scanning is off)", extra=where)
        return
    # An infected file or a scanner that failed is an error someone must act on.
    raise_alert(
        session, key=f"virus_{facts.scan.status.value}:{item.id}",
        kind=f"virus_{facts.scan.status.value}", level=AlertLevel.ERROR,
        message="recording preserved without a clean virus check",
        details={**where, "verdict": facts.scan.status.value, "detail": facts.scan.detail},
        at=facts.ingested_at,
    )  # fmt: skip


def register_ingest(session: Session, facts: IngestFacts) -> tuple[EvidenceItem, bool]:
    """Create the item, or record the same bytes arriving again. Returns (item, created)."""
    existing = session.execute(
        select(EvidenceItem).where(EvidenceItem.digest == facts.sealed.digest)
    ).scalar_one_or_none()
    if existing is not None:
        again: dict[str, Any] = {
            "digest": facts.sealed.digest,
            "station": facts.station.name,
            "source_path": display_name(facts.rel_path),
            "docked_at": format_time(facts.docked_at),
        }
        if facts.sidecar is not None:
            again["sidecar"] = _sidecar_record(facts.sidecar)
        append_event(
            session,
            item_id=existing.id,
            kind=EventKind.RECEIVED_AGAIN,
            actor=facts.actor,
            at=facts.ingested_at,
            data=again,
        )
        _keep_sidecar_row(session, existing, facts)
        return existing, False

    described = _describe(facts)
    device = _device(session, described["device"])
    meta = facts.sidecar.metadata if facts.sidecar and facts.sidecar.metadata else None
    item = EvidenceItem(
        id=uuid.uuid4(),
        digest=facts.sealed.digest,
        size=facts.sealed.size,
        media_type=facts.probe.media_type if facts.probe else OCTET_STREAM,
        original_name=display_name(facts.original_name),
        original_name_raw=facts.original_name,
        station_id=facts.station.id,
        device_id=device.id if device else None,
        officer=described["officer"],
        recorded_start=described["recorded_start"],
        recorded_end=described["recorded_end"],
        duration_ms=described["duration_ms"],
        docked_at=facts.docked_at,
        docked_after=facts.docked_after,
        ingested_at=facts.ingested_at,
        media_status=MediaStatus.PROBED if facts.probe else MediaStatus.UNREADABLE,
        probe=facts.probe.summary if facts.probe else None,
        probe_error=facts.probe_error,
        station_metadata=meta.model_dump(mode="json", exclude_none=True) if meta else None,
        sealed_locator=facts.sealed.locator,
        access_locator=facts.access.locator,
        retain_until=facts.retention.until,
        status=ItemStatus.PRESERVED,
        scan_status=facts.scan.status,
        scan_detail=facts.scan.detail,
        flags=_flags(facts),
    )
    session.add(item)
    session.flush()
    _keep_sidecar_row(session, item, facts)
    at = facts.ingested_at
    append_event(
        session,
        item_id=item.id,
        kind=EventKind.INGESTED,
        actor=facts.actor,
        at=at,
        data=_ingested_data(facts, described),
    )
    retained = "permanent" if facts.retention.until is None else format_time(facts.retention.until)
    for kind, stored in (
        (EventKind.SEALED, facts.sealed),
        (EventKind.ACCESS_COPY_STORED, facts.access),
    ):
        append_event(
            session,
            item_id=item.id,
            kind=kind,
            actor=facts.actor,
            at=at,
            data={
                "digest": stored.digest,
                "size": stored.size,
                "locator": stored.locator,
                "verified": "re-read and matched",
                "retain_until": retained,
            },
        )
    record_initial(session, item, facts.retention, actor=facts.actor)
    _raise_item_alerts(session, item, facts)
    return item, True
